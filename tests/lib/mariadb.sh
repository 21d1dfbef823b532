# Shared by tests/run.sh and bench/run.sh: make sure MariaDB/MySQL answers
# at MYSQL_DSN, starting the local server when nothing answers and
# installing Debian's mariadb-server when none is installed. Source it from
# the repository root after defining say/die; call ensure_db.

ping_db() { .bin/dbping -dsn "$MYSQL_DSN" -timeout "${1:-3s}"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
	else return 1
	fi
}

local_dsn() {
	case "$MYSQL_DSN" in
	*'@tcp(127.0.0.1:'*|*'@tcp(localhost:'*|*'@unix('*) return 0 ;;
	*) return 1 ;;
	esac
}

server_binary() {
	for b in /usr/sbin/mariadbd /usr/sbin/mysqld "$(command -v mariadbd 2>/dev/null || true)" "$(command -v mysqld 2>/dev/null || true)"; do
		[ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
	done
	return 1
}

install_mariadb() {
	say "no MySQL/MariaDB server installed: installing Debian's mariadb-server"
	command -v apt-get >/dev/null 2>&1 || die "apt-get is not available; install MariaDB or MySQL yourself and set MYSQL_DSN"
	as_root apt-get update -q || die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server mariadb-client ||
		die "apt-get install mariadb-server failed"
}

start_mariadb() {
	local bin
	bin="$(server_binary)" || return 1
	say "starting $bin"
	as_root install -d -o mysql -g mysql /run/mysqld 2>/dev/null || as_root mkdir -p /run/mysqld
	if [ ! -d /var/lib/mysql/mysql ] && command -v mariadb-install-db >/dev/null 2>&1; then
		as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
	fi
	if command -v start-stop-daemon >/dev/null 2>&1; then
		as_root start-stop-daemon --start --oknodo --background --exec "$bin" -- --user=mysql
	else
		as_root sh -c "nohup '$bin' --user=mysql >/tmp/erpsync-mariadb.log 2>&1 &"
	fi
}

# A fresh Debian MariaDB lets root in through the unix socket only; the
# default DSN logs in over TCP with an empty password, and needs database test.
configure_local_root() {
	command -v mariadb >/dev/null 2>&1 || return 1
	say "allowing root@localhost over TCP with an empty password and creating database test"
	as_root mariadb --protocol=socket -uroot -e "
		ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
		CREATE DATABASE IF NOT EXISTS test;
		FLUSH PRIVILEGES;"
}

wait_db() {
	local i rc
	for i in $(seq 1 60); do
		rc=0
		ping_db 2s >/dev/null 2>&1 || rc=$?
		# 0: ready; 3: up but refusing the login (configured next)
		if [ "$rc" = 0 ] || [ "$rc" = 3 ]; then return "$rc"; fi
		sleep 1
	done
	return 2
}

ensure_db() {
	local rc=0
	mkdir -p .bin
	go build -o .bin/dbping ./tests/tools/dbping
	ping_db && return 0 || rc=$?
	if [ "$rc" = 2 ]; then
		local_dsn || die "nothing answers at MYSQL_DSN=$MYSQL_DSN and it is not a local server this script can start"
		server_binary >/dev/null || install_mariadb
		start_mariadb || die "could not start MariaDB"
		rc=0
		wait_db || rc=$?
		[ "$rc" = 0 ] && { ping_db; return 0; }
		[ "$rc" = 3 ] || die "MariaDB did not answer at $MYSQL_DSN within 60s"
	fi
	if [ "$rc" = 3 ]; then
		local_dsn || die "the server at MYSQL_DSN=$MYSQL_DSN refused the login or the database"
		configure_local_root || die "could not configure the local server for $MYSQL_DSN"
		ping_db || die "the server at $MYSQL_DSN still refuses the login after configuring it"
		return 0
	fi
	die "could not check the database at $MYSQL_DSN"
}

