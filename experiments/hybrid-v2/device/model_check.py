"""Reference embeddings of a few study texts, to check a rebuilt model on another machine.

    python model_check.py write FULL_MODEL model_check.json   # here, with the full converted model
    python model_check.py check MODEL model_check.json        # there, after convert-e5 of the pruned file

``check`` exits 1 unless every text's embedding has cosine >= 0.9999 with the reference
(GPU and CPU float32 kernels differ in the last bits; a wrong token or weight moves it far more).
"""

from __future__ import annotations

import json
import sys

import numpy as np

TEXTS = [  # study texts (every 8,438th of the 67,506 that prune_model.py collects, cut to 300 characters)
    "query: As a result, Emperor Constantine VII (r.",
    "passage: He also made a cameo appearance in The Talons of Weng-Chiang (as a Music hall conductor).",
    'query: Perlman refused a stake in the company, and has stated "I did it because I believed in the thing, and I wanted to help Andy."In July 2005, Google acquired Android Inc. for at least $50 million.',
    "passage: Welchen Titel hat Yu Yangi im Schachbereich errungen?",
    "query: ¿Qué 伯 les 斯页岩 los 发现的化石缺少什么",
    'passage: إنه أحد مواقع التراث العالمي لليونسكو (2002) والمعروف باسم "نهر الراين الرومانسي" ، مع أكثر من 40 قلعة وحصن من العصور الوسطى والعديد من القرى الريفية الطريفة والجميلة.',
    "query: कौन उस कानून में बदलाव या छूट चाह सकता है जो उस ก को नियंत्रित करते हैं जहां इमारत का निर्माचा किया า",
    "passage: 伯 ¿Cuántas 斯页岩中发现了多少物种？",
]


def embed(model_dir: str) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, local_files_only=True)
    return model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)


def main() -> None:
    mode, model_dir, path = sys.argv[1:4]
    if mode == "write":
        json.dump({"texts": TEXTS, "embeddings": embed(model_dir).round(7).tolist()}, open(path, "w"))
        return
    reference = json.load(open(path))
    got = embed(model_dir)
    cosines = (got * np.asarray(reference["embeddings"])).sum(axis=1)
    print("model check: cosine with the reference per text", np.round(cosines, 6).tolist())
    sys.exit(0 if cosines.min() >= 0.9999 else 1)


if __name__ == "__main__":
    main()
