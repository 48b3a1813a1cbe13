# Sourced by the check scripts: python_venv DIR IMPORTS PACKAGE... makes a venv in DIR with the PyPI packages
# unless its python already imports IMPORTS (a comma-separated module list). Debian's python3 is externally
# managed, and a fresh Debian lacks python3-venv (ensurepip): then it is installed first.
python_venv() {
    local venv=$1 imports=$2
    shift 2
    "$venv/bin/python" -c "import $imports" 2>/dev/null && return 0
    rm -rf "$venv"
    if ! /usr/bin/python3 -m venv "$venv" 2>/dev/null; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$venv"
        /usr/bin/python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
}
