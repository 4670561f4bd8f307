import * as vscode from 'vscode';

/** A message Sweep showed, as recorded for `SweepApi.notifications()`. */
export interface Notice {
	kind: 'info' | 'warning' | 'error';
	text: string;
	/** Buttons offered (modal dialogs add their own Cancel). */
	items: string[];
	modal: boolean;
}

const HISTORY = 50;

/**
 * The one way Sweep shows messages: each goes to the `Sweep` log too, and is remembered (the last
 * 50) so integration tests can assert on what a user would have seen.
 */
export class Ui {
	private readonly history: Notice[] = [];

	constructor(readonly log: vscode.LogOutputChannel) {}

	/** The messages shown so far, oldest first. */
	notices(): readonly Notice[] {
		return [...this.history];
	}

	info<T extends string>(text: string, ...items: T[]): Thenable<T | undefined> {
		return this.show('info', text, {}, items);
	}

	warn<T extends string>(text: string, ...items: T[]): Thenable<T | undefined> {
		return this.show('warning', text, {}, items);
	}

	error<T extends string>(text: string, ...items: T[]): Thenable<T | undefined> {
		return this.show('error', text, {}, items);
	}

	/** A modal warning; resolves undefined for Cancel/Escape. */
	ask<T extends string>(text: string, detail: string | undefined, ...items: T[]): Thenable<T | undefined> {
		return this.show('warning', text, { modal: true, detail }, items);
	}

	private show<T extends string>(
		kind: Notice['kind'],
		text: string,
		options: vscode.MessageOptions,
		items: T[],
	): Thenable<T | undefined> {
		this.history.push({ kind, text, items: [...items], modal: options.modal === true });
		if (this.history.length > HISTORY) this.history.shift();
		if (kind === 'error') this.log.error(text);
		else if (kind === 'warning') this.log.warn(text);
		else this.log.info(text);
		if (kind === 'error') return vscode.window.showErrorMessage(text, options, ...items);
		if (kind === 'warning') return vscode.window.showWarningMessage(text, options, ...items);
		return vscode.window.showInformationMessage(text, options, ...items);
	}
}
