# Used by tests/run.sh: make sure the console's browser test
# (tests/console, TestIntegrationConsoleBrowser) can run: Debian's chromium
# with a font for Chinese text, Node.js and npm, and playwright-core as
# pinned by tests/console/browser/package-lock.json. Installs what is
# missing (apt-get, npm ci); fails when it cannot, so that the test never
# skips. Source it from the repository root after defining say/die and
# as_root (tests/lib/mariadb.sh); call ensure_browser. Exports CHROMIUM and
# ERPSYNC_TEST_ARTEFACTS (where the screenshots go).

erpsync_apt_updated=""
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "apt-get is not available; install $* yourself"
	if [ -z "$erpsync_apt_updated" ]; then
		as_root apt-get update -q >/dev/null || die "apt-get update failed"
		erpsync_apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null || die "apt-get install $* failed"
}

ensure_browser() {
	if ! command -v chromium >/dev/null 2>&1; then
		say "no chromium: installing Debian's chromium"
		apt_install chromium
	fi
	# Without a CJK font the page's Chinese labels render as boxes.
	if ! fc-list 2>/dev/null | grep -qiE 'wenquanyi|noto sans cjk|noto serif cjk'; then
		say "no font for Chinese text: installing fonts-wqy-zenhei"
		apt_install fonts-wqy-zenhei fontconfig
	fi
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		say "no Node.js: installing Debian's nodejs and npm"
		apt_install nodejs npm
	fi
	if [ ! -d tests/console/browser/node_modules/playwright-core ]; then
		say "installing playwright-core (tests/console/browser)"
		npm ci --prefix tests/console/browser --no-audit --no-fund >/dev/null || die "npm ci in tests/console/browser failed"
	fi
	export CHROMIUM
	CHROMIUM=$(command -v chromium)
	export ERPSYNC_TEST_ARTEFACTS="${ERPSYNC_TEST_ARTEFACTS:-$PWD/.artefacts}"
	say "browser tests: $CHROMIUM; screenshots in $ERPSYNC_TEST_ARTEFACTS/console"
}
