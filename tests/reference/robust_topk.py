"""The Ghorbani top-k attack as RAR / Sarkar et al. ran it, written out one image at a time.

Transcribes ``ig_attack.py`` (``IntegratedGradientsAttack``: ``create_attack_ops``,
``give_simple_perturbation``, ``apply_perturb``, ``check_measure``, ``iterative_attack_once``,
``iterative_attack``), the saliency ops of ``model.py`` (``create_ig_saliency_ops``) and the per-image
selection of ``eval_attribution_attack.py`` (``idx = np.argmin(kendalls)``) of
jfc43/robust-attribution-regularization (MNIST, Fashion-MNIST, GTSRB, Flower) and
anirbansarkar-cs/Enhanced_regularizers_attributional_robustness (Flower). Images are NCHW in [0, 1]
(the MNIST variant: no rounding to integers). Imports nothing from attx_core.

The TF graph feeds the ``num_steps`` counterfactuals (i+1)/n * (x - ref) + ref as one batch into
``NET.input``: the saliency is |mean of the logit gradients * (input[-1] - ref)|, channel-summed, times
H*W / its sum; the attack's direction is minus the gradient of the softplus saliency's sum over the
original top-k pixels w.r.t. each counterfactual, summed with weights (i+1)/n.
"""
from __future__ import annotations

import copy

import numpy as np
import scipy.stats as stats
import torch
from torch import nn


def softplus_copy(net: nn.Module) -> nn.Module:
    """``forward(..., activation='softplus')``: tf.nn.softplus for ReLU; 0.1x + 0.9 softplus(x) for leaky ReLU."""

    class Leaky(nn.Module):
        def __init__(self, a: float) -> None:
            super().__init__()
            self.a = a

        def forward(self, x):
            return self.a * x + (1 - self.a) * torch.nn.functional.softplus(x)

    twin = copy.deepcopy(net)
    for parent in twin.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.Softplus())
            elif isinstance(child, nn.LeakyReLU):
                setattr(parent, name, Leaky(child.negative_slope))
    return twin.eval()


class IntegratedGradientsAttack:
    def __init__(self, net, smooth, test_image, original_label, epsilon, k_top, eval_k_top, num_steps,
                 attack_iters, attack_times, alpha):
        self.net, self.smooth = net, smooth
        self.test_image = test_image.detach().clone()  # (C, H, W)
        self.original_label = int(original_label)
        self.c, self.w, self.h = test_image.shape
        self.num_steps, self.epsilon = num_steps, epsilon
        self.k_top, self.eval_k_top = k_top, eval_k_top
        self.attack_iters, self.attack_times, self.alpha = attack_iters, attack_times, alpha
        self.reference_image = torch.zeros_like(self.test_image)
        counterfactuals = self.create_counterfactuals(self.test_image)
        self.saliency1_flatten = self.saliency(self.net, counterfactuals).detach().numpy()
        elem1 = np.argsort(self.saliency1_flatten)[-self.k_top:]
        self.elements1 = np.zeros(self.w * self.h)
        self.elements1[elem1] = 1
        self.topK = elem1

    def create_counterfactuals(self, in_image):
        ref_subtracted = in_image - self.reference_image
        return torch.stack([(float(i + 1) / self.num_steps) * ref_subtracted + self.reference_image for i in range(self.num_steps)])

    def saliency(self, net, inputs, create_graph=False):
        """``self.saliency_flatten`` (ReLU net) / ``saliency_flatten2`` (softplus net) for a feed of counterfactuals."""
        if not inputs.requires_grad:
            inputs = inputs.clone().requires_grad_(True)
        sum_logits = net(inputs)[:, self.original_label].sum()
        (parallel_gradients,) = torch.autograd.grad(sum_logits, inputs, create_graph=create_graph)
        average_gradients = parallel_gradients.mean(dim=0)
        difference_multiplied = average_gradients * (inputs[-1] - self.reference_image)
        saliency_unnormalized = difference_multiplied.abs().sum(dim=0)  # channels (NCHW: dim 0 of CHW)
        saliency = self.w * self.h * saliency_unnormalized / saliency_unnormalized.sum()
        return saliency.reshape(-1)

    def give_simple_perturbation(self, in_image):
        counterfactuals = self.create_counterfactuals(in_image).detach().requires_grad_(True)
        saliency2 = self.saliency(self.smooth, counterfactuals, create_graph=True)
        topk_loss = (saliency2 * torch.as_tensor(self.elements1, dtype=saliency2.dtype)).sum()
        (grad,) = torch.autograd.grad(topk_loss, counterfactuals)
        perturbation = -grad  # NET.topK_direction
        perturbation_summed = sum(float(i + 1) / self.num_steps * perturbation[i] for i in range(self.num_steps))
        return torch.sign(perturbation_summed)

    def apply_perturb(self, in_image, pert, alpha, bound):
        out_image = self.test_image + torch.clamp(in_image + alpha * pert - self.test_image, -bound, bound)
        return torch.clamp(out_image, 0.0, 1.0)

    def check_measure(self, test_image_pert):
        with torch.no_grad():
            prob = self.net(test_image_pert[None])
        if int(prob.argmax(dim=1)) != self.original_label:
            return 1
        saliency2_flatten = self.saliency(self.net, self.create_counterfactuals(test_image_pert)).detach().numpy()
        return stats.kendalltau(self.saliency1_flatten, saliency2_flatten)[0]

    def iterative_attack_once(self):
        test_image_pert = self.test_image.clone()
        min_criterion = 1.0
        self.perturbed_image = self.test_image.clone()
        for _ in range(self.attack_iters):
            pert = self.give_simple_perturbation(test_image_pert)
            test_image_pert = self.apply_perturb(test_image_pert, pert, self.alpha, self.epsilon)
            criterion = self.check_measure(test_image_pert)
            if criterion < min_criterion:
                min_criterion = criterion
                self.perturbed_image = test_image_pert.clone()
        if min_criterion == 1.0:
            self.perturbed_image = self.test_image.clone()
            return 1.0, 1.0, 1.0
        origin_ig = self.saliency1_flatten
        perturbed_ig = self.saliency(self.net, self.create_counterfactuals(self.perturbed_image)).detach().numpy()
        spearman = stats.spearmanr(origin_ig, perturbed_ig)[0]
        kendall = stats.kendalltau(origin_ig, perturbed_ig)[0]
        origin_ig_topK = np.argsort(origin_ig)[-self.eval_k_top:]
        perturbed_ig_topK = np.argsort(perturbed_ig)[-self.eval_k_top:]
        intersection = float(len(np.intersect1d(origin_ig_topK, perturbed_ig_topK))) / self.eval_k_top
        return intersection, spearman, kendall

    def iterative_attack(self):
        runs = [self.iterative_attack_once() for _ in range(self.attack_times)]
        return tuple(np.array(v) for v in zip(*runs))


def attack_loss(net, image, label, mask, num_steps):
    """The attack's loss at ``image``: sum of the normalised softplus saliency over ``mask`` (topK_loss)."""
    smooth = softplus_copy(net)
    module = IntegratedGradientsAttack.__new__(IntegratedGradientsAttack)
    module.c, module.w, module.h = image.shape
    module.num_steps, module.original_label = num_steps, int(label)
    module.reference_image = torch.zeros_like(image)
    counterfactuals = module.create_counterfactuals(image).detach().requires_grad_(True)
    return float((module.saliency(smooth, counterfactuals) * mask).sum().detach())


def evaluate(net, images, labels, epsilon, k_top, eval_k_top, num_steps, attack_iters, alpha, attack_times=3):
    """eval_attribution_attack.py: per image the run with the lowest Kendall -> (intersection, spearman, kendall) arrays."""
    net = net.eval()
    smooth = softplus_copy(net)
    out = []
    for image, label in zip(images, labels):
        module = IntegratedGradientsAttack(net, smooth, image, label, epsilon, k_top, eval_k_top, num_steps,
                                           attack_iters, attack_times, alpha)
        intersections, spearmans, kendalls = module.iterative_attack()
        idx = np.argmin(kendalls)
        out.append((intersections[idx], spearmans[idx], kendalls[idx]))
    return tuple(np.array(v) for v in zip(*out))
