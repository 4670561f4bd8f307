#!/usr/bin/env bash
# Sweep's e2e test: the integration suite (test/integration/) in a real VS Code extension host, plus a UI test
# through the workbench. `npm run test:e2e` runs this.
#
# VS Code here is code-server (VS Code's server build, from npm) run by Node 24, driven headless by Debian's
# Chromium through playwright-core (a devDependency; no browser download). Needs Linux x64, root for apt-get
# when chromium or libkrb5-dev is missing, and the npm registry for the first run.
#
# Three sessions, each with its own code-server (own port, process group, user data, extensions and HOME):
#   main        trusted workspace (--disable-workspace-trust): the mocha suite, then the UI test
#   restricted  the same suite's Restricted Mode part, in a workspace that is not trusted
# The last line is `N passed, N failed` over all of them; the exit status is non-zero on any failure or time-out.
#
# Environment:
#   SWEEP_E2E_CACHE       tool cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/sweep-e2e): Node 24, code-server
#   SWEEP_E2E_TIMEOUT     hang guard per session in seconds (default 600)
#   SWEEP_E2E_GREP        only mocha tests whose title matches (the UI test and restricted run still run)
#   SWEEP_E2E_SKIP_UI=1   skip the UI test;  SWEEP_E2E_SKIP_RESTRICTED=1  skip the Restricted Mode session
#   SWEEP_E2E_KEEP=1      keep the run folder (it is kept anyway when something failed)
#   SWEEP_E2E_ROWS / SWEEP_E2E_BIG_ROWS   rows of the workspace CSV (300,000) and of the > 50 MB CSV (800,000)
#
# Writes only into its run folder (${TMPDIR:-/tmp}/sweep-e2e.XXXXXX) and the tool cache, plus dist/ and out/
# when they are missing or older than the sources (it runs `npm run build` and `tsc -p tsconfig.test.json` then).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/e2e
# shellcheck source=tools.sh
source "$HERE/tools.sh"

SYSTEM_NODE=$(command -v node)
TIMEOUT=${SWEEP_E2E_TIMEOUT:-600}
ROWS=${SWEEP_E2E_ROWS:-300000}
BIG_ROWS=${SWEEP_E2E_BIG_ROWS:-800000}
RUN=$(mktemp -d "${TMPDIR:-/tmp}/sweep-e2e.XXXXXX")
SECONDS=0
log() { echo "[e2e +${SECONDS}s] $*" >&2; }

# ---- cleanup: every exit path kills what this script started ----------------------------------------------------
GROUPS_TO_KILL=()
TOTAL_PASSED=0
TOTAL_FAILED=0
REACHED_END=
kill_group() { kill -TERM -- "-$1" 2>/dev/null || true; }
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	local g f
	for g in "${GROUPS_TO_KILL[@]}"; do kill_group "$g"; done
	for f in "$RUN"/*/chromium.pid; do [ -f "$f" ] && kill_group "$(cat "$f")"; done
	sleep 1
	for g in "${GROUPS_TO_KILL[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
	for f in "$RUN"/*/chromium.pid; do [ -f "$f" ] && kill -KILL -- "-$(cat "$f")" 2>/dev/null || true; done
	# Anything still alive that was started here (every child inherits TMPDIR inside the run folder), even one that
	# left its process group (a detached helper), is ended by its pid.
	local p left=()
	for p in $(grep -lxzF "TMPDIR=$RUN/tmp" /proc/[0-9]*/environ 2>/dev/null); do
		p=${p#/proc/}
		p=${p%/environ}
		# (the list includes grep itself, gone by now)
		[ "$p" != $$ ] && [ -e "/proc/$p" ] && left+=("$p")
	done
	if ((${#left[@]})); then
		local names=()
		for p in "${left[@]}"; do names+=("$(ps -o pid=,pgid=,sid=,comm= -p "$p" 2>/dev/null | xargs | tr ' ' :)"); done
		log "ending ${#left[@]} leftover process(es): ${names[*]}"
		kill -KILL "${left[@]}" 2>/dev/null || true
	fi
	# The workspaces hold a few hundred MB of generated CSV: dropped after a green run (reports, logs and
	# screenshots stay), kept for a look after a red one or with SWEEP_E2E_KEEP=1.
	if [ "$rc" = 0 ] && [ "${SWEEP_E2E_KEEP:-}" != 1 ]; then rm -rf "$RUN"/*/ws "$RUN/tmp"; fi
	log "run folder: $RUN"
	# Every exit path ends with the count; an early exit (set-up failure, interruption) counts as a failure.
	if [ -z "$REACHED_END" ]; then
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		[ "$rc" = 0 ] && rc=1
	fi
	echo "e2e: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

mkdir -p "$RUN/tmp"
# Everything started from here on writes its temporary files, HOME and XDG folders inside the run folder.
export TMPDIR=$RUN/tmp

# ---- 1. tools (in the background: the first install takes a few minutes) -----------------------------------------
log "run folder $RUN; tool cache $SWEEP_E2E_CACHE"
setsid bash -c 'source "$1/tools.sh" && ensure_apt_packages && ensure_tools' _ "$HERE" >"$RUN/tools.log" 2>&1 &
TOOLS_PID=$!
GROUPS_TO_KILL+=("$TOOLS_PID")

# ---- 2. build what the test needs, if missing or stale ----------------------------------------------------------
newer_sources() { find "$REPO/src" "$REPO/test" -name '*.ts' -newer "$1" -print -quit 2>/dev/null; }
need=()
for f in dist/extension.js dist/worker.js dist/cli.js out/test/integration/index.js; do
	if [ ! -f "$REPO/$f" ] || [ -n "$(newer_sources "$REPO/$f")" ]; then need+=("$f"); fi
done
if ((${#need[@]})); then
	log "building (missing or older than the sources: ${need[*]})"
	# A clean npm environment (npm_clean, tools.sh); npm's own cache and debug logs go to the run folder.
	(cd "$REPO" && npm_clean npm_config_cache="$RUN/npm" npm run --silent build) || { log "npm run build failed"; exit 1; }
	# Type errors elsewhere still emit JavaScript; the suite then fails on what is really broken.
	if ! (cd "$REPO" && node_modules/.bin/tsc -p tsconfig.test.json >"$RUN/tsc.log" 2>&1); then
		log "tsc reported errors; continuing with what it emitted:"
		head -20 "$RUN/tsc.log" >&2
	fi
	[ -f "$REPO/out/test/integration/index.js" ] || { log "out/test/integration/index.js was not emitted"; exit 1; }
fi

# ---- 3. workspaces and test data (generated now, never committed) -----------------------------------------------
gen() { "$SYSTEM_NODE" "$REPO/scripts/gen-trades.mjs" --rows "$1" --seed "$2" --out "$3" >/dev/null; }
user_settings() {
	mkdir -p "$1/udd/User"
	cat >"$1/udd/User/settings.json" <<-'JSON'
		{
			"workbench.startupEditor": "none",
			"workbench.tips.enabled": false,
			"workbench.enableExperiments": false,
			"security.workspace.trust.startupPrompt": "never",
			"security.workspace.trust.banner": "always",
			"telemetry.telemetryLevel": "off",
			"update.mode": "none",
			"extensions.autoCheckUpdates": false,
			"extensions.autoUpdate": false,
			"extensions.ignoreRecommendations": true,
			"git.enabled": false,
			"window.commandCenter": false,
			"chat.disableAIFeatures": true,
			"workbench.secondarySideBar.defaultVisibility": "hidden",
			"workbench.layoutControl.enabled": false
		}
	JSON
}
context() { # session dir, mode: the suite reads <workspace>/../context.json
	cat >"$1/context.json" <<-JSON
		{
			"mode": "$2",
			"sessionDir": "$1",
			"workspace": "$1/ws",
			"reportFile": "$1/mocha-report.txt",
			"resultFile": "$1/mocha-result.json",
			"repo": "$REPO",
			"cli": "$REPO/dist/cli.js",
			"node": "$SYSTEM_NODE",
			"grep": "${SWEEP_E2E_GREP:-}"
		}
	JSON
}
log "generating test data"
MAIN=$RUN/main
mkdir -p "$MAIN/ws/data" "$MAIN/ws/big"
gen "$ROWS" 1 "$MAIN/ws/data/trades.csv" &&
	gen 20000 3 "$MAIN/ws/data/small.csv" &&
	gen "$BIG_ROWS" 2 "$MAIN/ws/big/trades-big.csv" || { log "scripts/gen-trades.mjs failed"; exit 1; }
user_settings "$MAIN"
context "$MAIN" trusted
UI=$RUN/ui
mkdir -p "$UI/ws/data"
user_settings "$UI"
ln "$MAIN/ws/big/trades-big.csv" "$UI/ws/data/trades.csv" 2>/dev/null || cp "$MAIN/ws/big/trades-big.csv" "$UI/ws/data/trades.csv"
RESTRICTED=$RUN/restricted
mkdir -p "$RESTRICTED/ws/data" "$RESTRICTED/ws/.vscode"
gen 20000 4 "$RESTRICTED/ws/data/trades.csv" || exit 1
# Workspace values of restricted settings, which Restricted Mode must ignore, and one it must apply.
cat >"$RESTRICTED/ws/.vscode/settings.json" <<-'JSON'
	{
		"sweep.outputDirectory": "${workspaceFolder}/workspace-chose-this",
		"sweep.ordersFile": "${workspaceFolder}/data/orders.csv",
		"sweep.workers": 2
	}
JSON
user_settings "$RESTRICTED"
context "$RESTRICTED" restricted

log "waiting for the tools"
if ! wait "$TOOLS_PID"; then
	cat "$RUN/tools.log" >&2
	log "installing the tools failed"
	exit 1
fi
ensure_tools || exit 1 # present now: only sets NODE24_BIN and CODE_SERVER_BIN

# ---- 4. sessions --------------------------------------------------------------------------------------------------
free_port() { "$SYSTEM_NODE" -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
CS_PID=
start_code_server() { # session dir, extra flags...
	local dir=$1
	shift
	mkdir -p "$dir/home" "$dir/exts"
	PORT=$(free_port)
	code_server_env "$dir"
	# A simple command (no function or subshell around it), so that $! is the pid setsid keeps: the leader of
	# code-server's own process group.
	"${CS_ENV[@]}" setsid "$CODE_SERVER_BIN" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry \
		--disable-update-check --disable-getting-started-override --user-data-dir "$dir/udd" \
		--extensions-dir "$dir/exts" --reconnection-grace-time 5 "$@" >"$dir/code-server.log" 2>&1 &
	CS_PID=$!
	GROUPS_TO_KILL+=("$CS_PID")
	log "code-server ($(basename "$dir")) on 127.0.0.1:$PORT, process group $CS_PID"
}
# Sets CS_ENV to the `env` prefix for code-server: a clean npm environment (npm_clean_env, tools.sh: nothing an
# outer `npm test` exported), HOME and XDG folders inside the session folder, Node 24 first on PATH, and none of the
# variables that would change Sweep's figures.
code_server_env() { # session dir
	npm_clean_env
	CS_ENV=(env -u SWEEP_WORKERS -u SWEEP_CHUNK_SIZE -u NODE_OPTIONS "${NPM_CLEAN[@]:1}"
		HOME="$1/home" XDG_CONFIG_HOME="$1/home/.config" XDG_DATA_HOME="$1/home/.local/share"
		XDG_CACHE_HOME="$1/home/.cache" PATH="$NODE24_BIN:${NPM_CLEAN[-1]#PATH=}")
}
stop_code_server() { # ends code-server's whole process group (server, extension hosts, pty host, watchers)
	kill_group "$CS_PID"
	local i
	for i in $(seq 1 50); do
		kill -0 -- "-$CS_PID" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$CS_PID" 2>/dev/null || true
}
# The runner (system Node + the repo's playwright-core) under `timeout` as a hang guard of its own.
runner() { # session dir, mode, args...
	local dir=$1 mode=$2
	shift 2
	HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config" XDG_CACHE_HOME="$dir/home/.cache" \
		timeout -k 20 "$((TIMEOUT + 60))" "$SYSTEM_NODE" "$HERE/runner.mjs" "$mode" --port "$PORT" --folder "$dir/ws" \
		--ext "$REPO" --work "$dir" --timeout-ms "$((TIMEOUT * 1000))" "$@" &
	local pid=$!
	GROUPS_TO_KILL+=("$pid") # timeout leads a process group of its own (runner and its children)
	wait "$pid"
}

count_mocha() { # session dir, runner exit status
	local dir=$1 rc=$2 p=0 f=0
	echo >&2
	if [ -s "$dir/mocha-report.txt" ]; then cat "$dir/mocha-report.txt" >&2; else log "no mocha report in $dir"; fi
	if [ -f "$dir/mocha-result.json" ]; then
		read -r p f < <("$SYSTEM_NODE" -e 'const r=require(process.argv[1]);console.log(r.passes,r.failures)' "$dir/mocha-result.json")
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1 # a crash, a time-out or an exit code without a failing test still fails the run
		log "$(basename "$dir") suite ended with status $rc (3 = time-out) and no failing test recorded: counted as a failure"
		[ -f "$dir/code-server.log" ] && tail -20 "$dir/code-server.log" >&2
	fi
	TOTAL_PASSED=$((TOTAL_PASSED + p))
	TOTAL_FAILED=$((TOTAL_FAILED + f))
}

log "session main: mocha suite in the extension host"
start_code_server "$MAIN" --disable-workspace-trust --vscode-option enable-smoke-test-driver
runner "$MAIN" suite --tests "$REPO/out/test/integration/index.js"
count_mocha "$MAIN" $?

stop_code_server

if [ "${SWEEP_E2E_SKIP_UI:-}" != 1 ]; then
	# The smoke-test driver (needed above to load the extension from the repo and run the suite) also hides
	# notification toasts, so the UI test uses a workbench without it, with Sweep installed from a .vsix packaged
	# from this build: the extension as a user gets it.
	log "session ui: package the extension and drive the workbench"
	p=0 f=0 ui_rc=1
	mkdir -p "$UI/home" "$UI/exts"
	if ! (cd "$REPO" && npm_clean node_modules/.bin/vsce package --no-dependencies --no-rewrite-relative-links --skip-license \
		--out "$UI/sweep.vsix" </dev/null >"$UI/vsce.log" 2>&1); then
		cat "$UI/vsce.log" >&2
		log "vsce package failed"
	elif ! code_server_env "$UI" || ! "${CS_ENV[@]}" "$CODE_SERVER_BIN" --user-data-dir "$UI/udd" \
		--extensions-dir "$UI/exts" --install-extension "$UI/sweep.vsix" >"$UI/install.log" 2>&1; then
		cat "$UI/install.log" >&2
		log "installing the .vsix into code-server failed"
	else
		start_code_server "$UI" --disable-workspace-trust
		runner "$UI" ui --csv data/trades.csv --shots "$RUN/screenshots"
		ui_rc=$?
		stop_code_server
	fi
	echo >&2
	[ -f "$UI/ui-report.txt" ] && cat "$UI/ui-report.txt" >&2
	if [ -f "$UI/ui-result.json" ]; then
		read -r p f < <("$SYSTEM_NODE" -e 'const r=require(process.argv[1]);console.log(r.passed,r.failed)' "$UI/ui-result.json")
	else
		log "the UI test wrote no result (status $ui_rc)"
	fi
	if [ "$ui_rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	TOTAL_PASSED=$((TOTAL_PASSED + p))
	TOTAL_FAILED=$((TOTAL_FAILED + f))
	log "screenshots: $RUN/screenshots"
fi

if [ "${SWEEP_E2E_SKIP_RESTRICTED:-}" != 1 ]; then
	log "session restricted: Restricted Mode (workspace not trusted)"
	start_code_server "$RESTRICTED" --vscode-option enable-smoke-test-driver
	runner "$RESTRICTED" suite --tests "$REPO/out/test/integration/index.js"
	count_mocha "$RESTRICTED" $?
	stop_code_server
fi

log "done in ${SECONDS}s"
[ "$TOTAL_PASSED" -gt 0 ] || { log "no test ran"; TOTAL_FAILED=$((TOTAL_FAILED + 1)); }
REACHED_END=1
[ "$TOTAL_FAILED" = 0 ] # the count is printed by cleanup, as the last line
