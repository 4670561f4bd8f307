/**
 * The document shell every Sweep webview shares (Preview and Summary), as pure functions (no `vscode`). Strict CSP:
 * `default-src 'none'`, so nothing loads from anywhere; the one style block and the one script run by nonce.
 */

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What a webview page is made of. */
export interface WebviewPage {
	/** Fresh random nonce for the style and the script. */
	nonce: string;
	/** Plain text (escaped here). */
	title: string;
	/** The CSS of the one style block. */
	style: string;
	/** The HTML inside `<body>`, before the script; every value in it already escaped by the caller. */
	body: string;
	/** The JavaScript of the one script. */
	script: string;
}

/** The whole document of a webview. */
export function webviewPage(page: WebviewPage): string {
	const n = escapeHtml(page.nonce);
	const csp = `default-src 'none'; style-src 'nonce-${n}'; script-src 'nonce-${n}';`;
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(page.title)}</title>
<style nonce="${n}">${page.style}</style>
</head>
<body>
${page.body}
<script nonce="${n}">${page.script}</script>
</body>
</html>`;
}
