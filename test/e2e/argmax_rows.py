#!/usr/bin/python3
"""argmax_rows.py LOGITS VOCAB: the argmax of each float32 row, space-separated."""
import sys

import numpy as np

rows = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, int(sys.argv[2]))
print(" ".join(str(int(r.argmax())) for r in rows) + " ")
