"""The implementations that issue 22 replaced, kept verbatim as the reference of the equivalence tests
(tests/test_equivalence_issue22.py): AGI with its batch duplicated (two forward passes per iteration), and
AttEXplore's copy gradients with per-sample DI resizes, its spectrum copies drawn copy-major and recorded by
autograd."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attx_core.engine import class_score, input_gradients
from attx_core.methods.agi import adversarial_classes
from attx_core.seeding import ImageRandom
from attx_core.transforms import dct2, idct2


def gradients_and_top1(model: nn.Module, x: Tensor, target: Tensor, objective) -> tuple[Tensor, Tensor]:
    top1: list[Tensor] = []

    def tracked(logits: Tensor, cls: Tensor) -> Tensor:
        top1.append(logits.detach().argmax(dim=1))
        return objective(logits, cls)

    grads, _ = input_gradients(model, x, target, tracked)
    return grads, torch.cat(top1)


def agi(model: nn.Module, x: Tensor, target: Tensor, *, step: float = 0.05, num_steps: int = 20, num_classes: int = 20,
        seed: int = 3407, path: str = "published", explain: str = "prediction", class_choice: str = "random") -> Tensor:
    total = int(getattr(model, "num_classes", 1000))
    if explain == "prediction":
        with torch.no_grad():
            label = model(x).argmax(dim=1)
    else:
        label = target
    goals = adversarial_classes(label, num_classes, total, seed, class_choice)  # (K, B)
    k = goals.shape[0]
    rows_x = x.repeat(k, 1, 1, 1)  # class-major rows (K*B, C, H, W)
    goal, lab = goals.flatten(), label.repeat(k)
    point, attr = rows_x.clone(), torch.zeros_like(rows_x)
    active = goal >= 0
    for _ in range(num_steps):
        idx = active.nonzero()[:, 0]
        if idx.numel() == 0:
            break
        n = idx.numel()
        here = point[idx]
        grads, preds = gradients_and_top1(model, torch.cat([here, here]), torch.cat([goal[idx], lab[idx]]), class_score("prob"))
        go = preds[:n] != goal[idx]  # the published stop: the prediction at x_i reached the class
        active[idx[~go]] = False
        idx, g_adv, g_lab = idx[go], grads[:n][go], grads[n:][go]
        origin = rows_x[idx] if path == "published" else point[idx]
        new = (origin + step * g_adv.sign()).clamp(0.0, 1.0)
        attr[idx] = attr[idx] - g_lab * (new - origin)
        point[idx] = new
    return attr.view(k, *x.shape).sum(0)


def spectrum(self, x: Tensor, rng: ImageRandom) -> Tensor:
    noise = rng.randn(self.copies, *x.shape[1:]).transpose(0, 1) * self.sigma
    mask = 1 - self.rho + 2 * self.rho * rng.rand(self.copies, *x.shape[1:]).transpose(0, 1)
    return idct2(dct2(x[None] + noise) * mask).flatten(0, 1)


def diversity_groups(self, z: Tensor, batch: int, rng: ImageRandom, fixed_size: bool = False) -> list[tuple[Tensor, Tensor]]:
    h = z.shape[-1]
    lo, hi = (int(h * self.ratio), h) if self.ratio < 1 else (h, int(h * self.ratio))  # the published int() sizes
    draws = rng.rand(z.shape[0] // batch, 4).tolist()  # [image][copy] -> coin, size, top, left
    by_size: dict[int, tuple[list[Tensor], list[int]]] = {}
    for j in range(z.shape[0]):
        copy, image = divmod(j, batch)
        coin, size, top, left = draws[image][copy]
        out = z[j : j + 1]
        if coin < self.prob and hi > lo:
            rnd = lo + min(int(size * (hi - lo)), hi - lo - 1)
            top, left = int(top * (hi - rnd)), int(left * (hi - rnd))
            out = F.interpolate(out, size=(rnd, rnd), mode="bilinear", align_corners=False)
            out = F.pad(out, (left, hi - rnd - left, top, hi - rnd - top))
            if (self.resize_back or fixed_size) and hi != h:
                out = F.interpolate(out, size=(h, h), mode="bilinear", align_corners=False)
        outs, index = by_size.setdefault(out.shape[-1], ([], []))
        outs.append(out)
        index.append(j)
    return [(torch.cat(outs), torch.tensor(index, device=z.device)) for outs, index in by_size.values()]


def copy_gradients(model: nn.Module, x: Tensor, target: Tensor, objective, explorer, rng: ImageRandom) -> Tensor:
    batch = x.shape[0]
    with torch.enable_grad():
        leaf = z = x.detach().requires_grad_(True)
        for transform in explorer.transforms:
            z = transform(z, rng)
            if transform.leaf:
                leaf = z = z.detach().requires_grad_(True)
        fixed = bool(getattr(model, "fixed_size", False))
        groups = diversity_groups(explorer.diversity, z, batch, rng, fixed) if explorer.diversity else [(z, None)]
        outs = [out for out, _ in groups]
        grads = [input_gradients(model, out.detach(), target.repeat(z.shape[0] // batch) if index is None else target[index % batch],
                                 objective)[0] for out, index in groups]
        grad = grads[0] if outs[0] is leaf else torch.autograd.grad(outs, leaf, grads)[0]
    later = z.shape[0] // leaf.shape[0]
    return grad.view(-1, *x.shape) / later
