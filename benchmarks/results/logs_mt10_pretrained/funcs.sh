# The MT10 grid on the pretrained protocol (issue 10): sourced by the stage scripts beside it.
# Data: grids data generate --tasks mt10 --episodes-per-task 50 --out data/mt10w   (workspace camera)
# Cache: grids bench cache-features --encoder mobilenetv2 --data data/mt10w --out runs/mt10w/features
# Every run, dense included, is a head on the same cached frozen ImageNet MobileNetV2 features.
EP=${EP:-20}; MAX=${MAX:-150}; TASKS=mt10; DATA=data/mt10w; ROOT=${ROOT:-runs/mt10w}
. benchmarks/results/pretrained_funcs.sh  # cache, train, evaluate
prepare() {  # the data and the feature cache, each resumed (a new checkout: ~5 min of data, ~27 min of features)
  grids data generate --tasks $TASKS --episodes-per-task 50 --out $DATA --workers 2 2>&1 | tr '\r' '\n' | tail -1
  cache
}
row() {  # name seed reducer tokens [flags]: a row of the 10,000-step + EMA protocol (stages 8-10; set STEPS=10000),
  # trained where it lacks its final checkpoint, then evaluated in distribution
  local name=$1 seed=$2; shift 2
  trained $name-ema $seed || train $name-ema $seed "$@" --ema 0.999
  evaluate $ROOT/$name-ema-s$seed none
}
