# ALOHA (transfer-cube, insertion) on the pretrained protocol (issue 15 item 3): sourced by the stage scripts
# beside it; the stage functions are ../pretrained_funcs.sh. Same protocol as MetaWorld MT10 and LIBERO-Object (../logs_libero/funcs.sh): every run, dense
# included, is a head on the same cached frozen ImageNet MobileNetV2 features of both views (top, angle).
# ALOHA specifics, all automatic: 14-d joint-position state and actions (the head predicts the actions
# standardised with the dataset's per-joint mean and std, saved with the policy; they reach the env unclamped),
# gym-aloha's own 300-step limit (50 Hz, 6 s), and every evaluation episode records its maximum reward
# (contact stage 0-4): success = stage 4; the GridS authors' lenient success = max reward >= 0.5; "env reward" =
# the mean max reward. Evaluation seeds 100000 + i, the same for every run (paired comparisons).
EP=${EP:-50}; TASKS=aloha; DATA=${DATA:-data/aloha}; ROOT=${ROOT:-runs/aloha}; REPORT=${REPORT:-benchmarks/results/aloha}
MAX=${MAX:-}  # empty: gym-aloha's 300 steps; a dry run sets fewer (STEPS=20 EP=1 MAX=20 ROOT=... REPORT=...)
. benchmarks/results/pretrained_funcs.sh
generate() {  # resumable: rerun to continue
  echo "== $(date +%T) generate $DATA"
  grids data generate --suite aloha --tasks all --episodes-per-task 50 --out $DATA --workers ${WORKERS:-2} 2>&1 \
    | tr '\r' '\n' | grep -v "ep/s\|s/ep" | tail -2
}
CHUNK50="ALOHA sim (gym-aloha 0.1.5), action chunks of 50 (25 executed per call), otherwise as aloha_chunk8.md \
(stage 2, chunks of 8)."  # the notes of the main grid's report (stages 3-6)
PAIRS="grids-16:dense,grids-16:topk-16,grids-16:random-16,grids-4:topk-16,grids-4:random-16,grids-4:grids-16"
report() {  # notes: REPORT.{json,md,png} from ROOT's evaluations, the paired comparisons (PAIRS), what SR means
  python benchmarks/grid_report.py --root $ROOT --out $REPORT --steps $STEPS --episodes $EP ${MAX:+--max-steps $MAX} \
    --pairs "$PAIRS" \
    --notes "$1 SR = the top stage (4) reached; SR max reward >= 0.5 = the GridS authors' script's success (first \
contact counts); mean max reward = the paper's env reward (0-4)."
}
