#!/usr/bin/env bash
# kill -9 `pacsmine train` in the middle of its second epoch, rerun the same command: it says
# "resuming after epoch 1" and ends as an uninterrupted run would.
#   bash bench/images_kill_resume.sh WS      (WS: a copy of a workspace with ingest and topics)
set -u
WS=${1:?usage: bench/images_kill_resume.sh WS}
ARGS=(--set images.dataset.resize=40 --set images.train.crop=32 --set images.train.epochs=3
      --set images.transfer.run=false --set 'images.train.levels=["level1"]')
PY=${PYTHON:-python}
rm -rf "$WS/images"
"$PY" -m pacsmine.cli train --workspace "$WS" "${ARGS[@]}" > /dev/null 2>&1 &
pid=$!
until ls "$WS"/images/.partial-*/models/efficientnet_lite0/level1/checkpoints/state.json > /dev/null 2>&1; do sleep 1; done
sleep 4
kill -9 "$pid"
wait "$pid" 2> /dev/null
echo "killed pid $pid in epoch 2; last finished epoch on disk:" \
     "$(cat "$WS"/images/.partial-*/models/efficientnet_lite0/level1/checkpoints/state.json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["epoch"])')"
"$PY" -m pacsmine.cli train --workspace "$WS" "${ARGS[@]}" 2>&1 | grep -v "━"
