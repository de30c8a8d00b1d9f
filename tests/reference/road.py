"""The substrates as their authors wrote them, plainly. ROAD's ``NoisyLinearImputer`` (tleemann/road_evaluation,
``road/imputations.py`` at e6b9987: the system built with ``lil_matrix``, solved with ``spsolve``), RISE's blur
(eclique/RISE ``evaluation.py``: ``gkern(11, 5)`` applied with zero padding) and ROAD's removal loop
(``road/imputed_dataset.py``: the channel-summed map ranked, the top ``int(H*W*p)`` pixels removed (MoRF) or kept).
Imports nothing from attx_core."""
from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import correlate, gaussian_filter
from scipy.sparse import csc_matrix, lil_matrix
from scipy.sparse.linalg import spsolve

NEIGHBORS_WEIGHTS = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12), ((0, -1), 1 / 6), ((-1, -1), 1 / 12),
                     ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]


def _add_offset_to_indices(indices, offset, mask_shape):
    cord1 = indices % mask_shape[1]
    cord0 = indices // mask_shape[1]
    cord0 += offset[0]
    cord1 += offset[1]
    valid = (cord0 < 0) | (cord1 < 0) | (cord0 >= mask_shape[0]) | (cord1 >= mask_shape[1])
    return ~valid, indices + offset[0] * mask_shape[1] + offset[1]


def _setup_sparse_system(mask, img, neighbors_weights):
    maskflt = mask.flatten()
    imgflat = img.reshape((img.shape[0], -1))
    indices = np.argwhere(maskflt == 0).flatten()
    coords_to_vidx = np.zeros(len(maskflt), dtype=int)
    coords_to_vidx[indices] = np.arange(len(indices))
    num_equations = len(indices)
    a = lil_matrix((num_equations, num_equations))
    b = np.zeros((num_equations, img.shape[0]))
    sum_neighbors = np.ones(num_equations)
    for offset, weight in neighbors_weights:
        valid, new_coords = _add_offset_to_indices(indices, offset, mask.shape)
        valid_coords = new_coords[valid]
        valid_ids = np.argwhere(valid == 1).flatten()
        has_values_coords = valid_coords[maskflt[valid_coords] > 0.5]
        has_values_ids = valid_ids[maskflt[valid_coords] > 0.5]
        b[has_values_ids, :] -= weight * imgflat[:, has_values_coords].T
        has_no_values = valid_coords[maskflt[valid_coords] < 0.5]
        variable_ids = coords_to_vidx[has_no_values]
        has_no_values_ids = valid_ids[maskflt[valid_coords] < 0.5]
        a[has_no_values_ids, variable_ids] = weight
        sum_neighbors[np.argwhere(valid == 0).flatten()] = sum_neighbors[np.argwhere(valid == 0).flatten()] - weight
    a[np.arange(num_equations), np.arange(num_equations)] = -sum_neighbors
    return a, b


def noisy_linear_impute(img: torch.Tensor, mask: torch.Tensor, noise: float = 0.01) -> torch.Tensor:
    """``NoisyLinearImputer(noise)(img, mask)``: img (C,H,W), mask (H,W) with 1 = present, 0 = imputed; the noise is
    drawn from torch's global generator."""
    imgflt = img.reshape(img.shape[0], -1)
    maskflt = mask.reshape(-1)
    indices_linear = np.argwhere(maskflt == 0).flatten()
    a, b = _setup_sparse_system(mask.numpy(), img.numpy(), NEIGHBORS_WEIGHTS)
    res = torch.tensor(spsolve(csc_matrix(a), b), dtype=torch.float)
    img_infill = imgflt.clone()
    img_infill[:, indices_linear] = res.t() + noise * torch.randn_like(res.t())
    return img_infill.reshape_as(img)


def rise_blur(x: np.ndarray, klen: int = 11, nsig: float = 5) -> np.ndarray:
    """RISE's blurred substrate of one image (C,H,W): ``gkern(klen, nsig)`` correlated with each channel, zeros outside."""
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    k = gaussian_filter(inp, nsig)
    return np.stack([correlate(channel, k, mode="constant", cval=0.0) for channel in x])


def road_curves(model, x: torch.Tensor, explanation: torch.Tensor, target: int, percentages, noise: float = 0.01, seed: int = 0):
    """The target's probability at each percentage p, one image: insertion keeps the top ``int(H*W*p)`` pixels
    (``remove=False``), deletion removes them (``remove=True``, MoRF); the noise of percentage i seeded ``seed + 2i + mode``."""
    c, h, w = x.shape
    salient_order = torch.argsort(explanation.sum(0).reshape(-1), stable=True).flip(0)
    curves = []
    for mode in (0, 1):
        scores = []
        for i, p in enumerate(percentages):
            bitmask = torch.ones(h * w, dtype=torch.uint8)
            if mode == 1:
                bitmask[salient_order[: int(w * h * p)]] = 0
            else:
                bitmask[salient_order[int(w * h * p):]] = 0
            torch.manual_seed(seed + 2 * i + mode)
            imputed = noisy_linear_impute(x, bitmask.reshape(h, w), noise)
            with torch.no_grad():
                scores.append(model(imputed[None]).softmax(1)[0, target].item())
        curves.append(scores)
    return curves
