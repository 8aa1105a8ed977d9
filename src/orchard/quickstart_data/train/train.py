"""Train an Iris classifier: the script `orchard quickstart` runs as a tracked command job.

It is written as Azure ML v1 scripts are (`Run.get_context()`), reads its data through the
input the job binds, and writes the model to the job's `model` output.
"""

import argparse
import pickle
import warnings
from pathlib import Path

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from orchard.run import Run

TARGET = "species"

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--C", type=float, default=1.0)
parser.add_argument("--model_output", required=True)
args = parser.parse_args()

run = Run.get_context()
frame = pd.read_csv(args.data)
features, labels = frame.drop(columns=[TARGET]), frame[TARGET]
train_x, test_x, train_y, test_y = train_test_split(
    features, labels, test_size=0.3, random_state=7, stratify=labels
)
print(f"training on {len(train_x)} rows, testing on {len(test_x)}")

# Fit with a growing iteration budget so the run has a learning curve to look at.
warnings.filterwarnings("ignore", category=ConvergenceWarning)  # early budgets stop short
for step, iterations in enumerate((1, 2, 5, 10, 25, 100)):
    model = LogisticRegression(C=args.C, max_iter=iterations)
    model.fit(train_x, train_y)
    run.log("accuracy", accuracy_score(test_y, model.predict(test_x)), step=step)

predicted = model.predict(test_x)
run.log("f1_macro", f1_score(test_y, predicted, average="macro"))
run.set_tags({"C": str(args.C), "algorithm": "LogisticRegression"})

out = Path(args.model_output)
out.mkdir(parents=True, exist_ok=True)
with (out / "model.pkl").open("wb") as handle:
    pickle.dump(model, handle)
(out / "features.txt").write_text("\n".join(features.columns) + "\n")
print(f"model written to {out}")
