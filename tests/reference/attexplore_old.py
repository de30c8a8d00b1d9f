"""AttEXplore as published, written from LMBTough/ATTEXPLORE: HEAD ``saliency/core/ampe.py`` (``FGSMGradSSA``,
``AMPE``), ``attack_methods.py`` (``DI``, ``gkern``), ``dct.py``; and the old Table-6 path functions of commit
2f6028b ``saliency/core/mfaba.py`` (``FGSMGrad`` = NoAttack, ``PGDGrad``, ``DIFGSMGrad``, ``TIFGSMGrad``,
``MIFGSMGrad``, ``SINIFGSMGrad``, ``FGSMGradNAA``) as ``saliency_zoo.mfaba_*_smooth`` call them (epsilon 16/255, 10 steps,
use_sign=True, use_softmax=True). Imports nothing from attx_core.

``model`` returns logits; the published model ends in Softmax (:func:`published_model`), and
``use_softmax=True`` applies ``F.softmax`` once more: the old loops differentiate softmax(softmax(logits))[y],
SSA's cross-entropy (with its own log-softmax) sees softmax(softmax(logits)). Every loop DESCENDS its objective
(``dt - alpha * sign(grad)``); the integrator (``AMPE`` / ``MFABA``) is ``-sum (hats[t+1] - hats[t]) * grads[t]``.
The published loops compute one more gradient at the last point that the integrator drops: omitted here.

``accumulate=True`` keeps the published never-zeroed input gradient (``dt`` stays one leaf, ``dt.grad`` is the
running sum of all gradients: FGSMGrad, PGDGrad, DIFGSMGrad, TIFGSMGrad, MIFGSMGrad); ``False`` zeroes it.
``SINIFGSMGrad``, ``FGSMGradNAA`` and ``FGSMGradSSA`` use fresh gradients. ``SINIFGSMGrad``'s look-ahead is ``dt + alpha *
momentum`` (opposite to its descending step); ``lookahead=-1`` gives the look-ahead along the step instead.

Randomness is SHARED with attx_core's per-image streams (re-derived: see ``transfer_attacks.image_generators``):
- PGDGrad: ``rand(C, H, W)`` once per image -> the start ``uniform(-eps, eps)``;
- DIFGSMGrad / TIFGSMGrad: per step, per image ``rand(1, 4)`` -> (coin, size, top, left): the published
  ``torch.rand(1) < p`` is ``coin < p``, ``randint(low, high)`` is ``low + floor(u * (high - low))``;
- FGSMGradSSA: per step, per image ``randn(N, C, H, W)`` (gauss, copy n = row n), then ``rand(N, C, H, W)``
  (mask), then ``rand(N, 4)`` (DI of copy n, as above); the published code interleaves them per copy.
The published DI draws one transform per batch: with a DI probability > 0 only a batch of one image is supported.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .transfer_attacks import draw, gaussian_kernel, image_generators, randint_from


def published_model(model):
    """The reference's model: Normalize -> network -> Softmax."""
    return lambda x: F.softmax(model(x), dim=-1)


def integrate(hats, grads):
    """AMPE / MFABA: -sum (hats[1:] - hats[:-1]) * grads (grads without the dropped last one)."""
    hats, grads = torch.cat(hats), torch.cat(grads)
    return -torch.sum((hats[1:] - hats[:-1]) * grads, dim=0, keepdim=True)


def per_image(loop, model, data, target, **kw):
    """saliency_zoo: run the loop on the batch, integrate each image's hats/grads."""
    hats, grads = loop(published_model(model), data, target, **kw)
    return torch.cat([integrate([h[i : i + 1] for h in hats], [g[i : i + 1] for g in grads]) for i in range(data.shape[0])])


def _sign_step(dt, data, grad, alpha, epsilon, data_min=0.0, data_max=1.0):
    with torch.no_grad():
        adv_data = dt - alpha * grad.sign()
        total_grad = torch.clamp(adv_data - data, -epsilon, epsilon)
        dt.data = torch.clamp(data + total_grad, data_min, data_max)


def _tgt_out(output, target):
    return torch.diag(F.softmax(output, dim=-1)[:, target]).unsqueeze(-1)  # use_softmax=True


# --- dct.py ----------------------------------------------------------------------------------------------


def dct(x):
    x_shape = x.shape
    N = x_shape[-1]
    x = x.contiguous().view(-1, N)
    v = torch.cat([x[:, ::2], x[:, 1::2].flip([1])], dim=1)
    Vc = torch.fft.fft(v)
    k = -torch.arange(N, dtype=x.dtype)[None, :] * math.pi / (2 * N)
    V = Vc.real * torch.cos(k) - Vc.imag * torch.sin(k)
    return 2 * V.view(*x_shape)


def idct(X):
    x_shape = X.shape
    N = x_shape[-1]
    X_v = X.contiguous().view(-1, x_shape[-1]) / 2
    k = torch.arange(x_shape[-1], dtype=X.dtype)[None, :] * math.pi / (2 * N)
    W_r, W_i = torch.cos(k), torch.sin(k)
    V_t_r = X_v
    V_t_i = torch.cat([X_v[:, :1] * 0, -X_v.flip([1])[:, :-1]], dim=1)
    V_r = V_t_r * W_r - V_t_i * W_i
    V_i = V_t_r * W_i + V_t_i * W_r
    v = torch.fft.ifft(torch.complex(V_r, V_i))
    x = v.new_zeros(v.shape)
    x[:, ::2] += v[:, : N - (N // 2)]
    x[:, 1::2] += v.flip([1])[:, : N // 2]
    return x.view(*x_shape).real


def dct_2d(x):
    return dct(dct(x).transpose(-1, -2)).transpose(-1, -2)


def idct_2d(X):
    return idct(idct(X).transpose(-1, -2)).transpose(-1, -2)


# --- DI (attack_methods.DI: enlarge and pad; the old DIFGSMGrad/TIFGSMGrad.input_diversity: shrink and pad) ---


def input_diversity(x, u, resize_rate, diversity_prob):
    """The published DI with the shared draws u = (coin, size, top, left); one transform for the batch."""
    if diversity_prob > 0 and x.shape[0] != 1:
        raise ValueError("the published DI draws one transform per batch: use a batch of one image")
    coin, size, top, left = u
    img_size = x.shape[-1]
    img_resize = int(img_size * resize_rate)
    if resize_rate < 1:
        img_size, img_resize = img_resize, x.shape[-1]
    rnd = randint_from(size, img_size, img_resize)
    rescaled = F.interpolate(x, size=[rnd, rnd], mode="bilinear", align_corners=False)
    h_rem = img_resize - rnd
    w_rem = img_resize - rnd
    pad_top = randint_from(top, 0, h_rem)
    pad_left = randint_from(left, 0, w_rem)
    padded = F.pad(rescaled, [pad_left, w_rem - pad_left, pad_top, h_rem - pad_top], value=0)
    return padded if coin < diversity_prob else x


# --- ampe.py FGSMGradSSA (AttEXplore) -------------------------------------------------------------------


def fgsm_grad_ssa(model, data, target, epsilon=16 / 255, N=20, num_steps=10, sigma=16, rho=0.5, di_prob=0.5,
                  seed=3407):
    """FGSMGradSSA(use_sign=True, use_softmax=True); sigma in /255 units; DI = attack_methods.DI(1.15, di_prob)."""
    gens = image_generators(data, seed)
    T_kernel = gaussian_kernel(7, 3).to(data.dtype)
    momentum = 1.0
    alpha = epsilon / num_steps
    grad = 0
    dt = data.clone().detach().requires_grad_(True)
    hats, grads = [data.clone()], []
    for _ in range(num_steps):
        gauss_all = draw(gens, (N, *data.shape[1:]), data.dtype, normal=True)  # shared draws of this step
        mask_all = draw(gens, (N, *data.shape[1:]), data.dtype)
        di_all = draw(gens, (N, 4), data.dtype)
        noise = 0
        for n in range(N):
            gauss = gauss_all[:, n] * (sigma / 255)
            dt_dct = dct_2d(dt.detach() + gauss)
            mask = mask_all[:, n] * 2 * rho + 1 - rho
            dt_idct = idct_2d(dt_dct * mask).detach().requires_grad_(True)
            output_v3 = model(input_diversity(dt_idct, di_all[0, n].tolist(), 1.15, di_prob))
            output_v3 = F.softmax(output_v3, dim=-1)
            loss = F.cross_entropy(output_v3, target)
            loss.backward()
            noise += dt_idct.grad.data
        noise = noise / N
        noise = F.conv2d(noise, T_kernel, bias=None, stride=1, padding=(3, 3), groups=3)
        noise = noise / torch.abs(noise).mean([1, 2, 3], keepdim=True)
        noise = momentum * grad + noise
        grad = noise.detach()
        grads.append(grad.clone())
        _sign_step(dt, data, grad, alpha, epsilon)
        hats.append(dt.data.clone())
    return hats, grads


# --- mfaba.py at 2f6028b: the Table-6 path functions -----------------------------------------------------


def fgsm_grad(model, data, target, epsilon=16 / 255, num_steps=10, accumulate=True):
    """FGSMGrad: raw gradient of p_y, sign steps (the NoAttack row)."""
    alpha = epsilon / num_steps
    dt = data.clone().detach().requires_grad_(True)
    hats, grads = [data.clone()], []
    for _ in range(num_steps):
        output = model(dt)
        _tgt_out(output, target).sum().backward()
        grad = dt.grad.detach().clone()
        if not accumulate:
            dt.grad = None
        grads.append(grad)
        _sign_step(dt, data, grad, alpha, epsilon)
        hats.append(dt.data.clone())
    return hats, grads


def pgd_grad(model, data, target, epsilon=16 / 255, num_steps=10, accumulate=True, seed=3407):
    """PGDGrad: FGSMGrad from a uniform random start; hats start at the clean data."""
    alpha = epsilon / num_steps
    gens = image_generators(data, seed)
    dt = data.clone().detach()
    dt = dt + (-epsilon + 2 * epsilon * draw(gens, data.shape[1:], data.dtype))  # uniform_(-eps, eps), shared
    dt = torch.clamp(dt, min=0.0, max=1.0).detach().requires_grad_(True)
    hats, grads = [data.clone()], []
    for _ in range(num_steps):
        output = model(dt)
        _tgt_out(output, target).sum().backward()
        grad = dt.grad.detach().clone()
        if not accumulate:
            dt.grad = None
        grads.append(grad)
        _sign_step(dt, data, grad, alpha, epsilon)
        hats.append(dt.data.clone())
    return hats, grads


def _di_ti_mi_grad(model, data, target, epsilon, num_steps, accumulate, decay, resize_rate, diversity_prob,
                   kernel_size, seed):
    """The shared body of DIFGSMGrad (kernel_size 0), TIFGSMGrad and MIFGSMGrad (diversity_prob None)."""
    alpha = epsilon / num_steps
    gens = image_generators(data, seed)
    kernel = gaussian_kernel(kernel_size, 3).to(data.dtype) if kernel_size else None
    dt = data.clone().detach().requires_grad_(True)
    hats, grads = [data.clone()], []
    momentum = 0
    for _ in range(num_steps):
        if diversity_prob is None:
            output = model(dt)
        else:
            u = draw(gens, (1, 4), data.dtype)[0, 0].tolist()  # shared
            output = model(input_diversity(dt, u, resize_rate, diversity_prob))
        _tgt_out(output, target).sum().backward()
        grad = dt.grad.detach().clone()
        if not accumulate:
            dt.grad = None
        if kernel is not None:
            grad = F.conv2d(grad, kernel, stride=1, padding="same", groups=3)
        grad = grad / torch.mean(torch.abs(grad), dim=(1, 2, 3), keepdim=True)
        grad = grad + momentum * decay
        momentum = grad
        grads.append(grad.clone())
        _sign_step(dt, data, grad, alpha, epsilon)
        hats.append(dt.data.clone())
    return hats, grads


def difgsm_grad(model, data, target, epsilon=16 / 255, num_steps=10, accumulate=True, seed=3407,
                diversity_prob=0.5, resize_rate=0.9):
    """DIFGSMGrad: decay 0, resize_rate 0.9 (shrink, pad back to the input size), diversity_prob 0.5."""
    return _di_ti_mi_grad(model, data, target, epsilon, num_steps, accumulate, 0.0, resize_rate, diversity_prob, 0, seed)


def tifgsm_grad(model, data, target, epsilon=16 / 255, num_steps=10, accumulate=True, seed=3407, len_kernel=15):
    """TIFGSMGrad: DIFGSMGrad + Gaussian kernel 15x15 (nsig 3) on the gradient before the normalisation."""
    return _di_ti_mi_grad(model, data, target, epsilon, num_steps, accumulate, 0.0, 0.9, 0.5, len_kernel, seed)


def mifgsm_grad(model, data, target, epsilon=16 / 255, num_steps=10, accumulate=True):
    """MIFGSMGrad: decay 1, no input transform."""
    return _di_ti_mi_grad(model, data, target, epsilon, num_steps, accumulate, 1.0, None, None, 0, 0)


def sinifgsm_grad(model, data, target, epsilon=16 / 255, num_steps=10, m=5, decay=1.0, lookahead=1.0):
    """SINIFGSMGrad: Nesterov point dt + decay * alpha * momentum (lookahead=+1, as published), m scale
    copies nes / 2^i, gradient w.r.t. dt (autograd.grad: fresh every step), MI normalisation, decay 1."""
    alpha = epsilon / num_steps
    dt = data.clone().detach().requires_grad_(True)
    hats, grads = [data.clone()], []
    momentum = 0
    for _ in range(num_steps):
        nes_dt = dt + lookahead * decay * alpha * momentum
        adv_grad = torch.zeros_like(dt)
        for i in torch.arange(m):
            outputs = model(nes_dt / torch.pow(2, i))
            cost = _tgt_out(outputs, target).sum()
            adv_grad += torch.autograd.grad(cost, dt, retain_graph=False, create_graph=False)[0]
        adv_grad = adv_grad / m
        grad = decay * momentum + adv_grad / torch.mean(torch.abs(adv_grad), dim=(1, 2, 3), keepdim=True)
        momentum = grad
        grads.append(grad.detach().clone())
        _sign_step(dt, data, grad, alpha, epsilon)
        hats.append(dt.data.clone())
    return hats, grads


def fgsm_grad_naa(model, data, target, epsilon=16 / 255, num_steps=10, ens=30, noise_std=0.2, scales="published",
                  momentum=1.0):
    """FGSMGradNAA on the raw (logits) ``model``: forward hooks on every Conv2d (the published branch for models
    other than Inception/ResNet: the last conv's output wins), weights = sum over l < 30 of the feature gradient
    of softmax(softmax)[y] at (x + N(0, 0.2)) * (1 - l/30), L2-normalised and negated; loss
    sum((f(x') - f(0)) * w) / (B * C) descended with MI normalisation and momentum 1.0.
    Switches (not the published behaviour): ``noise_std=0`` drops the noise (it cannot be shared),
    ``scales="attx"`` uses the scales l/30 instead of 1 - l/30, ``momentum`` sets the decay.
    Deviations: the ensemble inputs require grad (frozen models), no float32 numpy round trip."""
    store = {}
    handles = [mod.register_forward_hook(lambda m, i, o: store.__setitem__("features", o))
               for mod in model.modules() if isinstance(mod, torch.nn.Conv2d)]
    net = published_model(model)
    try:
        alpha = epsilon / num_steps
        dt = data.clone().detach().requires_grad_(True)
        hats, grads = [data.clone()], []
        grad_np = torch.zeros_like(dt)
        weight_np = None
        for step in range(num_steps):
            if step == 0:
                for l in range(int(ens)):
                    images_base = dt.clone().detach()
                    if noise_std:
                        images_base = images_base + torch.randn_like(dt) * noise_std
                    factor = (1 - l / ens) if scales == "published" else l / ens
                    images_base = (images_base * factor).requires_grad_(True)
                    logits = F.softmax(net(images_base), dim=-1)  # use_softmax=True
                    onehot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
                    w = torch.autograd.grad(logits * onehot, store["features"], grad_outputs=torch.ones_like(logits))[0]
                    weight_np = w if weight_np is None else weight_np + w
                weight_np = -weight_np / torch.sqrt(torch.sum(torch.square(weight_np), dim=(1, 2, 3), keepdim=True))
            net(torch.zeros_like(dt))
            base_feamap = store["features"].detach()
            net(dt)
            attribution = (store["features"] - base_feamap) * weight_np  # gamma 1.0: linear
            loss = torch.sum(attribution) / (base_feamap.shape[0] * base_feamap.shape[1])
            grad = torch.autograd.grad(loss, dt)[0]
            grad = grad / torch.mean(torch.abs(grad), [1, 2, 3], keepdim=True)
            grad = momentum * grad_np + grad
            grad_np = grad.clone().detach()
            grads.append(grad.detach().clone())
            _sign_step(dt, data, grad, alpha, epsilon)
            hats.append(dt.data.clone())
    finally:
        for handle in handles:
            handle.remove()
    return hats, grads


LOOPS = {"ssa": fgsm_grad_ssa, None: fgsm_grad, "pgd": pgd_grad, "difgsm": difgsm_grad, "tifgsm": tifgsm_grad,
         "mifgsm": mifgsm_grad, "sinifgsm": sinifgsm_grad}


def attribution(name, model, x, y, **kw):
    """AttEXplore map (AMPE integrator, sign -1: every loop descends) of the published loop ``name``."""
    if name == "naa":  # needs the raw model for its hooks
        hats, grads = fgsm_grad_naa(model, x, y, **kw)
        return torch.cat([integrate([h[i : i + 1] for h in hats], [g[i : i + 1] for g in grads]) for i in range(x.shape[0])])
    return per_image(LOOPS[name], model, x, y, **kw)
