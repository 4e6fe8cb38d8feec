#!/usr/bin/env bash
# The curriculum with LLaMA-Factory: each stage from the last one's weights, on its train split;
# then predictions on each stage's test split. UNTESTED ON REAL WEIGHTS: `make train-smoke` runs the
# same configs (examples/train/llamafactory/) on a tiny random model, on CPU (docs/TRAINING.md).
#   EXPORT=/abs/exp/lf MODEL=Qwen/Qwen2.5-VL-3B-Instruct METHOD=lora bash examples/train/curriculum.sh
#   EXTRA="deepspeed=examples/train/llamafactory/ds_z3.json" METHOD=full ...   # 7B full, several GPUs
set -euo pipefail
EXPORT=${EXPORT:?EXPORT: the llamafactory export folder, an absolute path}
MODEL=${MODEL:-Qwen/Qwen2.5-VL-7B-Instruct}
METHOD=${METHOD:-lora}   # lora | full
OUT=${OUT:-saves/$(basename "$MODEL")-$METHOD}
STAGES=${STAGES:-au emotion age region dialogue}
CONFIGS=$(cd "$(dirname "$0")/llamafactory" && pwd)

weights() {  # where a stage starts: LoRA keeps the base model and carries the adapter on
  if [ "$METHOD" = lora ]; then
    echo "model_name_or_path=$MODEL${1:+ adapter_name_or_path=$1}"
  else
    echo "model_name_or_path=${1:-$MODEL}"
  fi
}

previous=""
for stage in $STAGES; do
  # shellcheck disable=SC2046,SC2086  # word splitting of key=value overrides is intended
  llamafactory-cli train "$CONFIGS/qwen2_5vl_$METHOD.yaml" $(weights "$previous") \
    dataset_dir="$EXPORT" dataset="ff_${stage}_train" eval_dataset="ff_${stage}_validation" \
    output_dir="$OUT/$stage" ${EXTRA:-}
  previous="$OUT/$stage"
  # shellcheck disable=SC2046
  llamafactory-cli train "$CONFIGS/predict.yaml" $(weights "$previous") \
    dataset_dir="$EXPORT" eval_dataset="ff_${stage}_test" output_dir="$OUT/$stage/predict"
done
echo "predictions: $OUT/<stage>/predict/generated_predictions.jsonl (docs/TRAINING.md scores them)"
