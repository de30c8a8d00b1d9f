"""TransferAttack's attacks as AttEXplore++ explorers, written from Trustworthy-AI-Group/TransferAttack
(commit 2663e4a): ``transferattack/attack.py`` (the base loop), ``gradient/{fgsm,ifgsm,mifgsm,nifgsm,mig,gra}.py``,
``input_transformation/{dim,tim,sim}.py``, ``advanced_objective/naa.py``. Imports nothing from attx_core.

Every class keeps the published loop (``delta``, ``get_momentum = decay * m + g / mean|g|``,
``update_delta = clamp(delta + alpha * sign(m), -eps, eps)`` then clamp to [0, 1] - data) and the
published defaults, and records the path points ``hats = [x, x + delta_1, ..., x + delta_T]`` and the
"momentum" each step hands to ``update_delta``. :func:`attribution` is the AttEXplore integrator on them,
``sign * sum_t (hats[t+1] - hats[t]) * grads[t]``, with sign +1: TransferAttack always ASCENDS its own loss
(cross-entropy for most attacks, ``-p_y`` for MIG, ``-(NAA feature loss)`` for NAA).

``model`` returns logits (TransferAttack's ``wrap_model`` = preprocessing + network, no softmax).

Randomness. The published code draws from torch's global RNG. Here it is SHARED with attx_core's
per-image streams, re-derived (not imported): image i's generator is
``torch.Generator().manual_seed(seed_i)``, ``seed_i`` = the first 8 bytes (little endian, 63 bits) of
sha256(seed as 8 signed little-endian bytes + the image's float32 bytes); draws are in the image's dtype.
Shared draws, per image, in this order:
- PGD (``random_start``): ``rand(C, H, W)`` once -> ``delta = uniform(-eps, eps)``;
- DIM: per step ``rand(1, 4)`` -> (coin, size, top, left); the published ``torch.rand(1) > p`` keeps x, else
  ``randint(low, high)`` is ``low + floor(u * (high - low))`` (same for the paddings). The published DIM
  draws ONE transform per batch: with ``diversity_prob > 0`` only a batch of one image is supported;
- GRA: per step ``rand(num_neighbor, C, H, W)``; neighbour k is ``uniform(-r, r)`` from row k.
Everything else is deterministic.

Necessary deviations: the gradient of NAA's ensemble is taken with the scaled inputs requiring grad (the
published code relies on the model's parameters requiring grad, which frozen models do not); the integrator
starts at the clean x also for PGD (TransferAttack has no attribution; the old AttEXplore PGD path does so).
"""
from __future__ import annotations

import hashlib
import math

import torch
import torch.nn.functional as F

IMG_MIN, IMG_MAX = 0.0, 1.0


# --- shared randomness (re-derived) -------------------------------------------------------------------


def image_generators(x, seed):
    gens = []
    for img in x:
        data = img.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy().tobytes()
        digest = hashlib.sha256(int(seed).to_bytes(8, "little", signed=True) + data).digest()
        gens.append(torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)))
    return gens


def draw(gens, shape, dtype, normal=False):
    fn = torch.randn if normal else torch.rand
    return torch.stack([fn(shape, generator=g, dtype=dtype) for g in gens])


def randint_from(u, low, high):
    """torch.randint(low, high) from a shared uniform draw u."""
    return low + min(int(u * (high - low)), high - low - 1)


def gaussian_kernel(kernel_size, nsig=3):
    """TIM's generate_kernel('gaussian'): st.norm.pdf on linspace(-nsig, nsig), outer, normalised, float32."""
    t = torch.linspace(-nsig, nsig, kernel_size, dtype=torch.float64)
    kern1d = torch.exp(-0.5 * t**2) / math.sqrt(2 * math.pi)
    kernel = torch.outer(kern1d, kern1d)
    kernel = kernel / kernel.sum()
    return torch.stack([kernel, kernel, kernel]).unsqueeze(1).float()


def clamp(x, x_min, x_max):
    return torch.min(torch.max(x, x_min), x_max)


# --- attack.py ----------------------------------------------------------------------------------------


class Attack:
    """transferattack/attack.py: the base loop, linfty norm, cross-entropy, untargeted."""

    def __init__(self, model, epsilon=16 / 255, alpha=1.6 / 255, epoch=10, decay=0.0, random_start=False, seed=3407):
        self.model, self.epsilon, self.alpha, self.epoch, self.decay = model, epsilon, alpha, epoch, decay
        self.random_start, self.seed = random_start, seed
        self.loss = torch.nn.CrossEntropyLoss()

    def forward(self, data, label):
        data, label = data.clone().detach(), label.clone().detach()
        self.gens = image_generators(data, self.seed)
        delta = self.init_delta(data)
        momentum = 0
        hats, grads = [data], []
        for _ in range(self.epoch):
            logits = self.get_logits(self.transform(data + delta, momentum=momentum))
            loss = self.get_loss(logits, label)
            grad = self.get_grad(loss, delta)
            momentum = self.get_momentum(grad, momentum)
            delta = self.update_delta(delta, data, momentum, self.alpha)
            hats.append((data + delta).detach())
            grads.append(momentum.detach())
        return hats, grads

    __call__ = forward

    def get_logits(self, x, **kwargs):
        return self.model(x)

    def get_loss(self, logits, label):
        return self.loss(logits, label)

    def get_grad(self, loss, delta, **kwargs):
        return torch.autograd.grad(loss, delta, retain_graph=False, create_graph=False)[0]

    def get_momentum(self, grad, momentum, **kwargs):
        return momentum * self.decay + grad / (grad.abs().mean(dim=(1, 2, 3), keepdim=True))

    def init_delta(self, data, **kwargs):
        delta = torch.zeros_like(data)
        if self.random_start:
            u = draw(self.gens, data.shape[1:], data.dtype)  # shared: rand(C, H, W) per image
            delta = -self.epsilon + 2 * self.epsilon * u  # delta.uniform_(-eps, eps)
            delta = clamp(delta, IMG_MIN - data, IMG_MAX - data)
        delta.requires_grad = True
        return delta

    def update_delta(self, delta, data, grad, alpha, **kwargs):
        delta = torch.clamp(delta + alpha * grad.sign(), -self.epsilon, self.epsilon)
        delta = clamp(delta, IMG_MIN - data, IMG_MAX - data)
        return delta.detach().requires_grad_(True)

    def transform(self, data, **kwargs):
        return data


# --- gradient/ ----------------------------------------------------------------------------------------


class FGSM(Attack):
    """gradient/fgsm.py: one step, alpha = epsilon, decay 0."""

    def __init__(self, model, epsilon=16 / 255, **kw):
        super().__init__(model, epsilon=epsilon, alpha=epsilon, epoch=1, decay=0.0, **kw)


class IFGSM(Attack):
    """gradient/ifgsm.py: 10 steps of 1.6/255, decay 0 (PGD: random_start=True)."""

    def __init__(self, model, epsilon=16 / 255, alpha=1.6 / 255, epoch=10, **kw):
        super().__init__(model, epsilon=epsilon, alpha=alpha, epoch=epoch, decay=0.0, **kw)


class MIFGSM(Attack):
    """gradient/mifgsm.py: decay 1."""

    def __init__(self, model, epsilon=16 / 255, alpha=1.6 / 255, epoch=10, decay=1.0, **kw):
        super().__init__(model, epsilon=epsilon, alpha=alpha, epoch=epoch, decay=decay, **kw)


class NIFGSM(MIFGSM):
    """gradient/nifgsm.py: look ahead x + alpha * decay * momentum."""

    def transform(self, x, momentum, **kwargs):
        return x + self.alpha * self.decay * momentum


class SINIFGSM(NIFGSM):
    """SI-NI-FGSM: input_transformation/sim.py's scale copies x / 2^i of nifgsm.py's look-ahead point."""

    def __init__(self, model, num_scale=5, **kw):
        super().__init__(model, **kw)
        self.num_scale = num_scale

    def transform(self, x, momentum, **kwargs):
        x = super().transform(x, momentum)
        return torch.cat([x / (2**i) for i in range(self.num_scale)])

    def get_loss(self, logits, label):
        return self.loss(logits, label.repeat(self.num_scale))


class MIG(MIFGSM):
    """gradient/mig.py: integrated gradient of p_y from a zero baseline, s_factor copies, alpha = eps/epoch."""

    def __init__(self, model, epsilon=16 / 255, epoch=10, decay=1.0, s_factor=20, **kw):
        super().__init__(model, epsilon=epsilon, alpha=epsilon / epoch, epoch=epoch, decay=decay, **kw)
        self.s_factor = s_factor

    def transform(self, data, **kwargs):
        x_base = torch.zeros_like(data)
        return torch.cat([x_base + i / self.s_factor * (data - x_base) for i in range(1, self.s_factor + 1)], dim=0)

    def get_loss(self, logits, label):
        return -torch.mean(logits.gather(1, label.view(-1, 1)))

    def forward(self, data, label):
        data, label = data.clone().detach(), label.clone().detach()
        self.gens = image_generators(data, self.seed)
        delta = self.init_delta(data)
        momentum = 0
        x_base = torch.zeros_like(data)
        hats, grads = [data], []
        for _ in range(self.epoch):
            logits = self.get_logits(self.transform(data + delta))
            probs = F.softmax(logits, dim=1)
            loss = self.get_loss(probs, label.repeat(self.s_factor))
            grad = self.get_grad(loss, delta)
            i_grad = (data + delta - x_base) * grad / self.s_factor
            momentum = self.get_momentum(i_grad, momentum)
            delta = self.update_delta(delta, data, momentum, self.alpha)
            hats.append((data + delta).detach())
            grads.append(momentum.detach())
        return hats, grads

    __call__ = forward


class GRA(Attack):
    """gradient/gra.py: cosine-weighted neighbourhood gradient, momentum, decay indicator M (eta 0.94)."""

    def __init__(self, model, epsilon=16 / 255, alpha=1.6 / 255, beta=3.5, num_neighbor=20, epoch=10, decay=1.0, **kw):
        super().__init__(model, epsilon=epsilon, alpha=alpha, epoch=epoch, decay=decay, **kw)
        self.radius = beta * epsilon
        self.num_neighbor = num_neighbor

    def get_average_gradient(self, data, delta, label, momentum, **kwargs):
        u = draw(self.gens, (self.num_neighbor, *data.shape[1:]), data.dtype)  # shared: per step, per image
        grad = 0
        for k in range(self.num_neighbor):
            noise = -self.radius + 2 * self.radius * u[:, k]  # torch.zeros_like(delta).uniform_(-r, r)
            logits = self.get_logits(self.transform(data + delta + noise, momentum=momentum))
            loss = self.get_loss(logits, label)
            grad += self.get_grad(loss, delta)
        return grad / self.num_neighbor

    def get_cosine_similarity(self, cur_grad, sam_grad, **kwargs):
        cur_grad = cur_grad.view(cur_grad.size(0), -1)
        sam_grad = sam_grad.view(sam_grad.size(0), -1)
        cos_sim = torch.sum(cur_grad * sam_grad, dim=1) / (
            torch.sqrt(torch.sum(cur_grad**2, dim=1)) * torch.sqrt(torch.sum(sam_grad**2, dim=1)))
        return cos_sim.unsqueeze(-1).unsqueeze(-1).unsqueeze(-1)

    def get_decay_indicator(self, M, delta, cur_noise, last_noise, eta, **kwargs):
        if isinstance(last_noise, int):
            last_noise = torch.full(cur_noise.shape, last_noise, dtype=cur_noise.dtype)
        eq_m = (last_noise.sign() == cur_noise.sign()).to(delta.dtype)
        di_m = torch.ones_like(delta) - eq_m
        return M * (eq_m + di_m * eta)

    def forward(self, data, label):
        data, label = data.clone().detach(), label.clone().detach()
        self.gens = image_generators(data, self.seed)
        delta = self.init_delta(data)
        eta = 0.94
        M = torch.full_like(delta, 1 / eta)
        momentum = 0
        hats, grads = [data], []
        for _ in range(self.epoch):
            logits = self.get_logits(self.transform(data + delta, momentum=momentum))
            loss = self.get_loss(logits, label)
            grad = self.get_grad(loss, delta)
            samgrad = self.get_average_gradient(data, delta, label, momentum)
            s = self.get_cosine_similarity(grad, samgrad)
            current_grad = s * grad + (1 - s) * samgrad
            last_momentum = momentum
            momentum = self.get_momentum(current_grad, momentum)
            M = self.get_decay_indicator(M, delta, momentum, last_momentum, eta)
            delta = self.update_delta(delta, data, momentum, M * self.alpha)
            hats.append((data + delta).detach())
            grads.append(momentum.detach())
        return hats, grads

    __call__ = forward


# --- input_transformation/ -----------------------------------------------------------------------------


class DIM(MIFGSM):
    """input_transformation/dim.py: resize_rate 1.1, diversity_prob 0.5, bilinear, resized back."""

    def __init__(self, model, resize_rate=1.1, diversity_prob=0.5, **kw):
        super().__init__(model, **kw)
        if resize_rate < 1:
            raise Exception("Error! The resize rate should be larger than 1.")
        self.resize_rate, self.diversity_prob = resize_rate, diversity_prob

    def transform(self, x, **kwargs):
        u = draw(self.gens, (1, 4), x.dtype)  # shared: per step, per image: coin, size, top, left
        if self.diversity_prob > 0 and x.shape[0] != 1:
            raise ValueError("the published DIM draws one transform per batch: use a batch of one image")
        coin, size, top, left = u[0, 0].tolist()
        if coin >= self.diversity_prob:  # torch.rand(1) > self.diversity_prob
            return x
        img_size = x.shape[-1]
        img_resize = int(img_size * self.resize_rate)
        rnd = randint_from(size, min(img_size, img_resize), max(img_size, img_resize))
        rescaled = F.interpolate(x, size=[rnd, rnd], mode="bilinear", align_corners=False)
        h_rem = img_resize - rnd
        w_rem = img_resize - rnd
        pad_top = randint_from(top, 0, h_rem)
        pad_bottom = h_rem - pad_top
        pad_left = randint_from(left, 0, w_rem)
        pad_right = w_rem - pad_left
        padded = F.pad(rescaled, [pad_left, pad_right, pad_top, pad_bottom], value=0)
        return F.interpolate(padded, size=[img_size, img_size], mode="bilinear", align_corners=False)


class TIM(MIFGSM):
    """input_transformation/tim.py: Gaussian kernel 15x15 (nsig 3) on the gradient, before the momentum."""

    def __init__(self, model, kernel_size=15, **kw):
        super().__init__(model, **kw)
        self.kernel = gaussian_kernel(kernel_size)

    def get_grad(self, loss, delta, **kwargs):
        grad = torch.autograd.grad(loss, delta, retain_graph=False, create_graph=False)[0]
        return F.conv2d(grad, self.kernel.to(grad.dtype), stride=1, padding="same", groups=3)


# --- advanced_objective/ -------------------------------------------------------------------------------


class NAA(MIFGSM):
    """advanced_objective/naa.py: weights = mean feature-layer gradient of p_y over data * n / N (n < N = 30),
    loss sum((f(x') - f(0)) * w) DESCENDED by raw sign steps (update_delta gets -grad, no momentum)."""

    def __init__(self, model, N=30, feature_layer=None, **kw):
        super().__init__(model, **kw)
        self.N = N
        self.feature_layer = model.layer(feature_layer or model.feature_layer)

    def forward(self, data, label):
        data, label = data.clone().detach(), label.clone().detach()
        self.gens = image_generators(data, self.seed)
        delta = self.init_delta(data)
        store = {}
        h = self.feature_layer.register_forward_hook(lambda m, i, o: store.__setitem__("mid_output", o))
        h2 = self.feature_layer.register_full_backward_hook(lambda m, i, o: store.__setitem__("mid_grad", o))
        try:
            agg_grad = 0
            for iter_n in range(self.N):
                x_m = torch.zeros(data.size(), dtype=data.dtype) + data.clone().detach() * iter_n / self.N
                x_m.requires_grad_(True)  # deviation: frozen models need an input that requires grad
                out = torch.softmax(self.model(x_m), 1)
                loss = 0
                for batch_i in range(data.shape[0]):
                    loss += out[batch_i][label[batch_i]]
                loss.backward()
                agg_grad += store["mid_grad"][0].detach()
            agg_grad /= self.N
            h2.remove()
            with torch.no_grad():
                self.model(torch.zeros(data.size(), dtype=data.dtype))
            y_prime = store["mid_output"].detach().clone()
            hats, grads = [data], []
            for _ in range(self.epoch):
                self.get_logits(self.transform(data + delta))
                loss = ((store["mid_output"] - y_prime) * agg_grad).sum()
                grad = torch.autograd.grad(loss, delta, retain_graph=False, create_graph=False)[0]
                delta = self.update_delta(delta, data, -grad, self.alpha)
                hats.append((data + delta).detach())
                grads.append(-grad.detach())
        finally:
            h.remove()
            h2.remove()
        return hats, grads

    __call__ = forward


# --- the AttEXplore integrator ----------------------------------------------------------------------------


def integrate(hats, grads, sign=1.0):
    hats, grads = torch.stack(hats), torch.stack(grads)
    return sign * torch.sum((hats[1:] - hats[:-1]) * grads, dim=0)


ATTACKS = {"fgsm": FGSM, "bim": IFGSM, "pgd": lambda m, **kw: IFGSM(m, random_start=True, **kw), "mifgsm": MIFGSM,
           "difgsm": DIM, "tifgsm": TIM, "sinifgsm": SINIFGSM, "naa": NAA, "mig": MIG, "gra": GRA}


def attribution(name, model, x, y, **kw):
    """AttEXplore map along the published attack ``name``'s path (sign +1: the published loop ascends its loss)."""
    return integrate(*ATTACKS[name](model, **kw)(x, y), sign=1.0)
