"""Expected Gradients as published: ``saliency/saliency_zoo.py::eg`` ->
``AttributionPriorExplainer(dataloader.dataset, 4, k=1).shap_values(model, data)`` in
``saliency/core/eg.py``, transcribed. The reference images and alphas (drawn there by a shuffled
DataLoader and ``torch.FloatTensor(batch, k).uniform_(0, 1)``) are arguments so attx_core's draws can
be shared: ``references`` (B, k, C, H, W), ``t`` (B, k). ``sparse_labels=None`` is the published call:
``gather_nd`` then takes classes 0..B-1 of image 0 (the published bug); pass the labels for the
corrected targets. Imports nothing from attx_core. ``model`` returns logits (softmax applied here)."""
from __future__ import annotations

import functools
import operator

import torch
from torch.autograd import grad


def gather_nd(params, indices):
    max_value = functools.reduce(operator.mul, list(params.size())) - 1
    indices = indices.t().long()
    ndim = indices.size(0)
    idx = torch.zeros_like(indices[0]).long()
    m = 1
    for i in range(ndim)[::-1]:
        idx += indices[i] * m
        m *= params.size(i)
    idx[idx < 0] = 0
    idx[idx > max_value] = 0
    return torch.take(params, idx)


def shap_values(model, input_tensor, references, t, sparse_labels=None, output="prob"):
    k = references.shape[1]
    shape = [input_tensor.shape[0], k] + [1] * (input_tensor.dim() - 1)
    interp_coef = t.view(*shape)
    samples_input = interp_coef * input_tensor.unsqueeze(1) + (1.0 - interp_coef) * references
    samples_delta = input_tensor.unsqueeze(1) - references
    samples_input = samples_input.detach().requires_grad_(True)
    grad_tensor = torch.zeros(samples_input.shape)
    for i in range(k):
        particular_slice = samples_input[:, i]
        z = model(particular_slice)
        batch_output = z.softmax(dim=1) if output == "prob" else z
        if batch_output.size(1) > 1:
            sample_indices = torch.arange(0, batch_output.size(0))
            if sparse_labels is not None:
                indices_tensor = torch.cat([sample_indices.unsqueeze(1), sparse_labels.unsqueeze(1)], dim=1)
            else:
                indices_tensor = sample_indices.unsqueeze(1)
            batch_output = gather_nd(batch_output, indices_tensor)
        model_grads = grad(outputs=batch_output, inputs=particular_slice, grad_outputs=torch.ones_like(batch_output))
        grad_tensor[:, i, :] = model_grads[0]
    return (samples_delta * grad_tensor).mean(1)
