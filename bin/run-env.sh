# Sourced by bin/run-all.sh (and tests/config/test_run_env.py): the environment `make run`
# gives every process it starts. The caller sets HOST and PORT.
#
# Every link Ambassador puts in an e-mail (the PayPal confirmation, password resets, payout
# notices) is built from AMBASSADOR_URL, so it must point at the server this run starts:
# http://$HOST:$PORT unless the caller set AMBASSADOR_URL. A server listening on every
# address (0.0.0.0, ::) is linked as 127.0.0.1, the one address sure to reach it from here.
case "$HOST" in
  0.0.0.0 | :: | "[::]") url_host=127.0.0.1 ;;
  \[*) url_host=$HOST ;;
  *:*) url_host="[$HOST]" ;; # a bare IPv6 address
  *) url_host=$HOST ;;
esac
export AMBASSADOR_URL="${AMBASSADOR_URL:-http://$url_host:$PORT}"
# Django answers only the hosts it knows (400 otherwise): unless the caller chose
# ALLOWED_HOSTS, allow the local names and the host the links name.
if [ -z "${ALLOWED_HOSTS:-}" ]; then
  link_host=${AMBASSADOR_URL#*://}
  link_host=${link_host%%/*}
  case "$link_host" in
    \[*) link_host=${link_host%%]*}] ;;
    *) link_host=${link_host%%:*} ;;
  esac
  export ALLOWED_HOSTS="127.0.0.1,localhost,$link_host"
  unset link_host
fi
unset url_host
