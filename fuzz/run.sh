#!/bin/sh
# Run fuzz targets one after another, nice'd, one job each, then merge
# what they found into the committed corpus (only inputs adding coverage).
#
#   fuzz/run.sh SECONDS [TARGET...]     (default: every target)
#
# One process per target (libFuzzer's default: no -jobs/-workers), sequentially.
# Build first: cargo +nightly fuzz build -s none -a
# Logs: fuzz/logs/<target>.log (git-ignored); crashes: fuzz/artifacts/<target>/.
set -u
cd "$(dirname "$0")"
secs=${1:?seconds per target}; shift
targets=${*:-"cert_import attest_import verify_signature config roster schedule escrow audit_log"}
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p logs
for t in $targets; do
    dict=
    case $t in
        cert_import|attest_import|verify_signature) dict=dict/openpgp.dict ;;
        config|roster) dict=dict/toml.dict ;;
        schedule) dict=dict/yaml.dict ;;
        escrow) dict=dict/escrow.dict ;;
        audit_log) dict=dict/audit.dict ;;
    esac
    mkdir -p corpus-work/$t artifacts/$t
    echo "== $t $(date -u +%H:%M:%S)"
    extra=; [ -d regressions/$t ] && extra=regressions/$t
    nice -n 19 $bin/$t corpus-work/$t corpus/$t $extra \
        -dict=$dict -runs=10000000 -max_total_time=$secs -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix=artifacts/$t/ > logs/$t.log 2>&1
    echo "   exit $? $(date -u +%H:%M:%S)"
    grep -E "^(Done|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))" logs/$t.log
    grep -E "INITED|DONE" logs/$t.log | head -2
    grep -E "ERROR|panicked|deadly signal|out-of-memory|timeout" logs/$t.log | head -5
done
