# LIBERO-Object on the pretrained protocol (issue 11): sourced by the stage scripts beside it; the stage
# functions are ../pretrained_funcs.sh. Evaluation on LIBERO's official init states (episode i → state i, <= 50)
# with the suite's own step limits.
EP=${EP:-50}; SUITE=${SUITE:-libero_object}; TASKS=$SUITE; DATA=${DATA:-data/$SUITE}; ROOT=${ROOT:-runs/$SUITE}
. benchmarks/results/pretrained_funcs.sh
generate() {  # resumable: rerun to continue
  echo "== $(date +%T) generate $DATA"
  grids data generate --tasks $SUITE --episodes-per-task 50 --out $DATA --workers ${WORKERS:-2} 2>&1 | tr '\r' '\n' | grep -v "ep/s\|s/ep" | tail -2
}
