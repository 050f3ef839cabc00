# Shared by scripts/run and scripts/test: find Python 3.12+, make the venv, install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"

find_python() {
  local cand v prefix
  for cand in python3.13 python3.12; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$cand"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[23](\.[0-9]+)?$' | sort -V -r); do
      prefix="$(pyenv prefix "$v" 2>/dev/null)" || continue
      if [ -x "$prefix/bin/python" ]; then echo "$prefix/bin/python"; return 0; fi
    done
  fi
  for cand in python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$cand"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local reqfile="$1" py stamp want
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    if ! py="$(find_python)"; then
      echo "Ringback needs Python 3.12 or 3.13 (Django 6). None was found." >&2
      echo "Install one (e.g. 'pyenv install 3.13' or your system's python3.13 package) and run this again." >&2
      exit 1
    fi
    echo "==> Creating virtual environment with $py"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
  fi
  stamp="$VENV/.installed-$(basename "$reqfile")"
  want="$(cat requirements.txt "$reqfile" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> Installing $(basename "$reqfile")"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqfile"
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

# Scaled mode: say clearly what is missing; create the PostgreSQL database if needed.
ensure_services() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "==> Database: $DATABASE_URL"
    python - <<'PY' || { echo "PostgreSQL is not reachable at DATABASE_URL (is the server running?)" >&2; exit 1; }
import os, psycopg
from psycopg import sql
url = os.environ["DATABASE_URL"]
base, name = url.rsplit("/", 1)
name = name.split("?", 1)[0]
with psycopg.connect(base + "/postgres", connect_timeout=5, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"    created database {name}")
PY
  fi
  if [ -n "${REDIS_URL:-}" ]; then
    echo "==> Channel layer: $REDIS_URL"
    python -c "import os, redis; redis.Redis.from_url(os.environ['REDIS_URL'], socket_timeout=5).ping()" \
      || { echo "Redis is not reachable at REDIS_URL (is the server running?)" >&2; exit 1; }
  fi
}

# Debian packages the scaled set-up and the browser tests need: installed with apt when running as
# root, otherwise the script says what to run (never a browser downloaded by a test tool).
ensure_debian_package() {
  local binary="$1" package="$2"
  command -v "$binary" >/dev/null 2>&1 || [ -x "$binary" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> Installing Debian's $package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null || {
      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null; }
  else
    echo "Ringback needs Debian's $package here: run 'sudo apt-get install -y $package'." >&2
    exit 1
  fi
}

# The softphone's real-SIP tests: kamailio (with its WebSocket, ephemeral-auth and HTTP-client modules),
# rtpengine (the daemon alone: the metapackage pulls in DKMS and iptables parts) and baresip, from Debian.
# espeak-ng speaks the voice menu's prompts (generated once, at the voice application's first start).
SIP_PACKAGES=(kamailio kamailio-websocket-modules kamailio-autheph-modules kamailio-utils-modules kamailio-tls-modules rtpengine-daemon baresip-core coturn espeak-ng)
ensure_sip_packages() {
  local modules=/usr/lib/x86_64-linux-gnu/kamailio/modules
  if [ -f "$modules/websocket.so" ] && [ -f "$modules/auth_ephemeral.so" ] && [ -f "$modules/http_client.so" ] \
     && [ -f "$modules/tls.so" ] && command -v rtpengine >/dev/null && command -v baresip >/dev/null \
     && command -v turnserver >/dev/null && command -v espeak-ng >/dev/null; then return 0; fi
  echo "==> Installing Debian's ${SIP_PACKAGES[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${SIP_PACKAGES[@]}" >/dev/null || {
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${SIP_PACKAGES[@]}" >/dev/null; }
}
