#!/usr/bin/env bash
# Installs the real components the tests start (Prometheus, Alertmanager, Chromium, NATS) when a
# fresh machine lacks them. Debian packages only; needs root (CI and sessions run as root).
set -uo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
[ ${#need[@]} -eq 0 ] && exit 0
echo "+ apt-get install ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then echo "ci-deps: not root, cannot install ${need[*]}" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
