"""The shipped autoencoders measured on the 10,000 Fashion-MNIST test images.

Linear AE vs PCA MSE per k (target: within 1%), conv AE MSE per code size vs PCA (target
for code 32: <= 0.55 x PCA), the largest principal angle between each linear decoder and
PCA's subspace, and mean PSNR of noisy and denoised images for each noise kind and level
(target: Gaussian sigma 0.2, denoised >= noisy + 6 dB). Inference only.

Usage: python bench/autoencoders.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mml7 import autoencoders as ae  # noqa: E402
from mml7 import data  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    args = parser.parse_args()
    test = data.fashion_mnist("test").images
    pca = ae.fit_pca(data.fashion_mnist("train").images, max_k=64)
    results = []
    for k in ae.SHIPPED_CODE_SIZES["linear"]:
        model = ae.pretrained("linear", k)
        ratio = ae.mse(test, model.reconstruct(test)) / ae.mse(test, pca.reconstruct(test, k))
        angle = ae.principal_angles_to_pca(model, pca).max()
        results.append(
            {
                "figure": f"linear AE k={k}: MSE {ae.mse(test, model.reconstruct(test)):.5f} "
                f"vs PCA {ae.mse(test, pca.reconstruct(test, k)):.5f}; max angle {angle:.2f} deg",
                "value": round(ratio, 4),
                "unit": "x PCA",
                "target": "<= 1.01",
                "ok": bool(ratio <= 1.01),
            }
        )
    for k in ae.SHIPPED_CODE_SIZES["conv"]:
        model_mse = ae.mse(test, ae.pretrained("conv", k).reconstruct(test))
        ratio = model_mse / ae.mse(test, pca.reconstruct(test, k))
        results.append(
            {
                "figure": f"conv AE code {k}: MSE {model_mse:.5f}",
                "value": round(ratio, 3),
                "unit": "x PCA",
                "target": "<= 0.55" if k == 32 else "",
                "ok": bool(ratio <= 0.55) if k == 32 else None,
            }
        )
    for trained_at in ae.SHIPPED_NOISE_STDDEVS:
        model = ae.pretrained("denoising", 64, trained_at)
        for kind, amount in [
            ("gaussian", 0.1),
            ("gaussian", 0.2),
            ("gaussian", 0.3),
            ("gaussian", 0.5),
            ("salt-and-pepper", 0.2),
            ("random-mask", 0.3),
        ]:
            noisy = ae.add_noise(test, kind, amount, seed=0)
            before = ae.psnr(test, noisy).mean()
            after = ae.psnr(test, model.reconstruct(noisy)).mean()
            target = trained_at == 0.2 and kind == "gaussian" and amount == 0.2
            results.append(
                {
                    "figure": f"denoising AE trained at {trained_at}, {kind} {amount}: "
                    f"PSNR noisy {before:.2f} dB -> denoised {after:.2f} dB",
                    "value": round(float(after - before), 2),
                    "unit": "dB gain",
                    "target": ">= 6" if target else "",
                    "ok": bool(after - before >= 6) if target else None,
                }
            )
    for result in results:
        if args.json:
            print("RESULT " + json.dumps(result))
        else:
            print(f"{result['figure']:95} {result['value']} {result['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
