#!/usr/bin/env bash
# `make run`: migrates, seeds the demo (ending today), then runs Ambassador's processes in
# the foreground: web, Celery worker, Celery beat, and the local fake payment peers (so
# payouts complete without the internet). Ctrl-C (or any process exiting) stops all of them.
# Every step sees the same environment (bin/run-env.sh): AMBASSADOR_URL is this server's
# address unless already set, so the links in e-mails open.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
cd "$(dirname "$0")/.."
BIN=.venv/bin
# shellcheck source=bin/run-env.sh
source bin/run-env.sh

$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py seed_demo

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping…"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # Give a warm shutdown 10 s, then stop whatever is left hard (a worker can hang in it).
  for _ in $(seq 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  pkill -KILL -P "$$" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ -f bin/demo-peers.sh ]; then
  # shellcheck source=/dev/null
  source bin/demo-peers.sh
fi

$BIN/python manage.py runserver "$HOST:$PORT" --noreload & pids+=($!)
$BIN/celery -A config worker --loglevel=INFO --concurrency=2 --without-gossip --without-mingle & pids+=($!)
$BIN/celery -A config beat --loglevel=INFO --schedule var/celerybeat-schedule & pids+=($!)

sleep 2
cat <<TXT

  Ambassador is running at $AMBASSADOR_URL/
    admin:      $AMBASSADOR_URL/admin/      (admin@example.com / admin-demo-pass)
    affiliate:  $AMBASSADOR_URL/dashboard/  (alice@example.org / demo-pass-1234)
    API docs:   $AMBASSADOR_URL/api/docs/
  E-mailed links use AMBASSADOR_URL=$AMBASSADOR_URL.
  Web, Celery worker and beat are running; Ctrl-C stops all three.

TXT
wait -n "${pids[@]}"
