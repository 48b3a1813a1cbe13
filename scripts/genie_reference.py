"""Compact PyTorch reference of GENIE (as docs/METHOD.md describes it) for small images.

The peer for speed and the oracle for fixtures. Run with /usr/bin/python3 (PyTorch 1.13, CPU).

Contents
- resnet20(num_classes=10, in_channels=1, widths=(16, 32, 64), blocks=(3, 3, 3)): CIFAR-style ResNet with
  torchvision state-dict keys; set_nontrivial_bn_stats(model, image_size, seed) for randomly initialised models.
- GENIE-D: Generator, SwingConv2d, DistillModel (frozen eval copy, swing wrappers, BN-input
  hooks, BNS loss), DistillBatch (latents, generator, both optimizers and schedules, one step per call),
  distill(model, n_images, batch, iterations, seed, swing=True).
- GENIE-M: WeightQuantizer, ActQuantizer (LSQ + QDrop), QuantConv2d / QuantIdentity wrappers,
  QuantBasicBlock (and, for torchvision's models, QuantBottleneck and QuantInvertedResidual; QuantLayer for a lone
  conv or linear layer), RoundingRegularizer,
  Reconstructor (one unit, one step per call) and reconstruct_block(...).

Conventions worth knowing when porting
- Swing offsets: each SwingConv2d call draws ox then oy with `rng.integers(0, 3)` from one numpy Generator
  shared by all swing layers (seeded from `seed`); `offset=(ox, oy)` fixes them. Crop rows oy..oy+H, cols ox..ox+W
  of the reflect-padded input.
- Rounding-regularizer iteration counter t is 1-based (t = 1..T), as BRECQ's LossFunction (count += 1 first):
  regularizer active when t >= warmup*T, beta(t) = end + (start-end)*max(0, 1 - (t - warmup*T)/(T - warmup*T)).
- ExponentialLR of the generator steps after iterations 100, 200, ... (1-based t % 100 == 0).
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------------------------
# ResNet-20 (CIFAR style, torchvision key names)
# ----------------------------------------------------------------------------------------------------------------


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """torchvision BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x))."""

    expansion = 1

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32, 64), blocks=(3, 3, 3)):
        super().__init__()
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layers = []
            for j in range(n):
                layers.append(BasicBlock(cin, w, stride=2 if (i > 0 and j == 0) else 1))
                cin = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        # torchvision's init: kaiming-normal (fan_out, relu) convs, BN gamma 1 / beta 0; Linear keeps its default.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet20(num_classes=10, in_channels=1, widths=(16, 32, 64), blocks=(3, 3, 3)):
    """CIFAR ResNet-20 (3 stages of 3 BasicBlocks, 16/32/64 channels); widths/blocks shrink it for fixtures."""
    return ResNet(num_classes, in_channels, widths, blocks)


def resnet20_from_state(state):
    """Builds a resnet20-like model whose shape follows a torchvision-style state dict, and loads it."""
    widths = tuple(state[f"layer{i}.0.conv1.weight"].shape[0] for i in (1, 2, 3))
    blocks = tuple(len({k.split(".")[1] for k in state if k.startswith(f"layer{i}.")}) for i in (1, 2, 3))
    m = resnet20(state["fc.weight"].shape[0], state["conv1.weight"].shape[1], widths, blocks)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}  # optional in files
    missing, unexpected = m.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    return m


@torch.no_grad()
def set_nontrivial_bn_stats(model, image_size=28, seed=0, n=64):
    """Gives a randomly initialised model realistic BN running statistics: cumulative batch statistics of a
    forward pass (train mode, momentum None) over n smooth random images, plus random BN affine parameters."""
    g = torch.Generator().manual_seed(seed)
    cin = next(m for m in model.modules() if isinstance(m, nn.Conv2d)).in_channels  # the stem's
    x = torch.randn(n, cin, image_size, image_size, generator=g)
    x = F.avg_pool2d(x, 3, 1, 1)
    x = (x - x.mean()) / x.std()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
        m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
    was = model.training
    model.train()
    model(x)
    model.train(was)
    for m in bns:
        m.momentum = 0.1
    return model


# ----------------------------------------------------------------------------------------------------------------
# GENIE-D
# ----------------------------------------------------------------------------------------------------------------


class Generator(nn.Module):
    """METHOD.md: Linear -> BN(c1) -> up2 -> conv3x3(c1->c2) -> BN -> LeakyReLU(0.2) -> up2 -> conv3x3(c2->C)
    -> tanh -> BN(C, affine=False). Always used in train mode (batch statistics)."""

    def __init__(self, image_size=28, channels=1, latent_dim=256, c1=128, c2=64):
        super().__init__()
        self.init_size = image_size // 4
        self.c1 = c1
        self.fc = nn.Linear(latent_dim, c1 * self.init_size ** 2)
        self.bn0 = nn.BatchNorm2d(c1)
        self.conv1 = nn.Conv2d(c1, c2, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(c2)
        self.conv2 = nn.Conv2d(c2, channels, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(channels, affine=False)

    def forward(self, z):
        x = self.fc(z).view(z.shape[0], self.c1, self.init_size, self.init_size)
        x = F.interpolate(self.bn0(x), scale_factor=2, mode="nearest")
        x = F.leaky_relu(self.bn1(self.conv1(x)), 0.2)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.bn2(torch.tanh(self.conv2(x)))


class SwingConv2d(nn.Module):
    """METHOD.md: reflect-pad by 1, crop an HxW window at (oy, ox) in {0,1,2}^2, then the unchanged conv."""

    def __init__(self, conv, rng, offset=None):
        super().__init__()
        self.conv = conv
        self.rng = rng
        self.offset = offset  # (ox, oy) to fix the offset; None draws a new one per call

    def forward(self, x):
        if self.offset is None:
            ox = int(self.rng.integers(0, 3))
            oy = int(self.rng.integers(0, 3))
        else:
            ox, oy = self.offset
        h, w = x.shape[2], x.shape[3]
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")[:, :, oy:oy + h, ox:ox + w]
        return self.conv(x)


def replace_module(root, name, module):
    """Puts module at root's dotted path name (e.g. "layer2.0.conv1", "features.0.0")."""
    parent = root.get_submodule(name.rsplit(".", 1)[0]) if "." in name else root
    setattr(parent, name.rsplit(".", 1)[-1], module)


def sq(a, b):
    """||a - b||_F^2 / size(b, 0)."""
    return (a - b).pow(2).sum() / b.shape[0]


class DistillModel:
    """Eval-mode, frozen copy of the FP model with swing convs on every stride != 1 conv and hooks on every BN
    input. loss(x) runs the model and returns the BNS loss of METHOD.md (input term + all BN terms)."""

    def __init__(self, model, swing=True, rng=None, offsets=None):
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.swings = []
        if swing:
            for name, m in list(self.model.named_modules()):
                if isinstance(m, nn.Conv2d) and tuple(m.stride) != (1, 1):
                    off = None if offsets is None else tuple(offsets[len(self.swings)])
                    s = SwingConv2d(m, self.rng, off)
                    replace_module(self.model, name, s)
                    self.swings.append((name, s))
        self.bns = [m for m in self.model.modules() if isinstance(m, nn.BatchNorm2d)]
        self.targets = [(m.running_mean.detach().clone(), torch.sqrt(m.running_var.detach() + 1e-6)) for m in self.bns]
        self.inputs = []
        for m in self.bns:
            m.register_forward_hook(lambda mod, inp, out: self.inputs.append((mod, inp[0])))

    def loss(self, x, parts=False):
        self.inputs.clear()
        self.model(x)
        s0, m0 = torch.std_mean(x, dim=(2, 3))  # unbiased std
        l_in = sq(torch.zeros_like(m0), m0) + sq(torch.ones_like(s0), s0)
        l_mean, l_std = 0.0, 0.0
        # BN terms in forward (hook) order, each against its own layer's targets
        order = {id(m): i for i, m in enumerate(self.bns)}
        assert len(self.inputs) == len(self.bns)
        for m, a in self.inputs:
            mu, sigma = self.targets[order[id(m)]]
            s, mean = torch.std_mean(a, dim=(0, 2, 3))
            l_mean = l_mean + sq(mu, mean)
            l_std = l_std + sq(sigma, s)
        self.inputs.clear()
        total = l_in + l_mean + l_std
        return (total, l_in) if parts else total


class DistillBatch:
    """One GENIE-D batch (METHOD.md): z ~ N(0,1) and a fresh generator, both optimized.
    z: Adam 0.1 + ReduceLROnPlateau(patience 100, factor 0.1, min_lr 1e-4) stepped every iteration on the loss;
    generator: Adam 0.01 + ExponentialLR(0.95) stepped every 100 iterations. step() returns (loss, x)."""

    def __init__(self, dmodel, generator, z, lr_z=0.1, lr_g=0.01):
        self.dmodel, self.gen = dmodel, generator.train()
        self.z = z.detach().clone().requires_grad_(True)
        self.opt_z = torch.optim.Adam([self.z], lr=lr_z)
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(self.opt_z, mode="min", factor=0.1, patience=100,
                                                                  min_lr=1e-4)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=lr_g)
        self.expdecay = torch.optim.lr_scheduler.ExponentialLR(self.opt_g, gamma=0.95)
        self.t = 0

    def step(self):
        self.t += 1
        self.opt_z.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        x = self.gen(self.z)
        loss = self.dmodel.loss(x)
        loss.backward()
        self.opt_z.step()
        self.opt_g.step()
        value = loss.item()
        self.plateau.step(value)
        if self.t % 100 == 0:
            self.expdecay.step()
        return value, x.detach()


def distill(model, n_images, batch, iterations, seed, swing=True, image_size=None, latent_dim=256, c1=128, c2=64,
            history=None):
    """GENIE-D: returns [n_images, C, H, W] images in batches of `batch` (the last one smaller when batch does not
    divide n_images, as genie splits them), each batch being the generator output of the last forward (before the
    final update). history (a list), if given, gets one dict per batch with 'initial_loss', 'final_loss', 'seconds'."""
    import time
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cin = next(m for m in model.modules() if isinstance(m, nn.Conv2d)).in_channels  # the stem's
    image_size = image_size or 28
    dmodel = DistillModel(model, swing=swing, rng=rng)
    out = []
    for start in range(0, n_images, batch):
        t0 = time.perf_counter()
        gen = Generator(image_size, cin, latent_dim, c1, c2)
        z = torch.randn(min(batch, n_images - start), latent_dim)
        run = DistillBatch(dmodel, gen, z)
        first = x = None
        for _ in range(iterations):
            value, x = run.step()
            first = value if first is None else first
        out.append(x)
        if history is not None:
            history.append({"initial_loss": first, "final_loss": value, "seconds": time.perf_counter() - t0})
    return torch.cat(out)


# ----------------------------------------------------------------------------------------------------------------
# GENIE-M
# ----------------------------------------------------------------------------------------------------------------

ZETA, GAMMA = 1.1, -0.1


def rectified_sigmoid(v):
    """h(V) = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1)."""
    return torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0, 1)


def rectified_sigmoid_inverse(r):
    """V with h(V) = r for r in [0, 1): -log((zeta - gamma) / (r - gamma) - 1)."""
    return -torch.log((ZETA - GAMMA) / (r - GAMMA) - 1)


def lp_error(x, xq, p=2.4, dim=None):
    e = (x - xq).abs().pow(p)
    return e.mean() if dim is None else e.mean(dim)


def weight_init(w, bits, p=2.4, ratios=100):
    """Per-output-channel asymmetric Lp(2.4) search over r = 1.00, 0.99, ..., 0.01 (METHOD.md).
    For each r: new_max = r*max(W_c), new_min = r*min(W_c), s = (new_max - new_min)/(2^b - 1),
    zp = round(-new_min / s) (half-even), Q = s*(clamp(round(W/s) + zp, 0, 2^b-1) - zp). The first r reaching the
    strict minimum wins (larger r on ties). Returns s0, zp with shape [C] (float32, zp integral)."""
    c = w.shape[0]
    wf = w.detach().reshape(c, -1)
    wmax, wmin = wf.max(1).values, wf.min(1).values
    n = 2 ** bits - 1
    best = torch.full((c,), float("inf"), dtype=w.dtype)
    s0 = torch.zeros(c, dtype=w.dtype)
    zp0 = torch.zeros(c, dtype=w.dtype)
    for i in range(ratios):
        r = 1.0 - i * 0.01
        new_max, new_min = wmax * r, wmin * r
        s = (new_max - new_min) / n
        s = torch.where(s > 1e-10, s, torch.full_like(s, 1e-8))  # guard all-zero channels
        zp = torch.round(-new_min / s)
        q = s[:, None] * (torch.clamp(torch.round(wf / s[:, None]) + zp[:, None], 0, n) - zp[:, None])
        err = lp_error(wf, q, p, dim=1)
        better = err < best
        best = torch.where(better, err, best)
        s0 = torch.where(better, s, s0)
        zp0 = torch.where(better, zp, zp0)
    return s0, zp0


class WeightQuantizer(nn.Module):
    """GENIE-M weight quantizer (METHOD.md): per-channel s (learnable, init s0), zp and B = floor(W/s0) frozen,
    softbits V (learnable, init h^-1(W/s0 - B)). Training mode = soft: s*(clamp(B + h(V) + zp, 0, 2^b-1) - zp);
    eval mode = hard: h(V) replaced by 1[V >= 0]. forward() returns the quantized weight."""

    def __init__(self, weight, bits):
        super().__init__()
        self.bits = bits
        w = weight.detach()
        s0, zp = weight_init(w, bits)
        shape = (-1,) + (1,) * (w.dim() - 1)
        s0, zp = s0.view(shape), zp.view(shape)
        b = torch.floor(w / s0)
        self.register_buffer("zp", zp)
        self.register_buffer("B", b)
        self.s = nn.Parameter(s0.clone())
        self.V = nn.Parameter(rectified_sigmoid_inverse(w / s0 - b))

    def forward(self):
        soft = rectified_sigmoid(self.V) if self.training else (self.V >= 0).to(self.V.dtype)
        return self.s * (torch.clamp(self.B + soft + self.zp, 0, 2 ** self.bits - 1) - self.zp)


def round_ste(x):
    return (torch.round(x) - x).detach() + x


def act_init(x, bits, p=2.4, ratios=100):
    """LSQ step-size init (METHOD.md): signed = min(x) < 0; for r = 1.00..0.01, s = 2*r*max|x|/(2^b-1) (signed) or
    r*max|x|/(2^b-1) (unsigned), score mean |x - s*clamp(round(x/s), Qn, Qp)|^2.4; first strict minimum wins."""
    x = x.detach()
    signed = bool(x.min() < 0)
    qn, qp = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    amax = x.abs().max()
    best, best_s = float("inf"), None
    for i in range(ratios):
        r = 1.0 - i * 0.01
        s = (2 * r * amax if signed else r * amax) / (2 ** bits - 1)
        err = lp_error(x, s * torch.clamp(torch.round(x / s), qn, qp), p).item()
        if err < best:
            best, best_s = err, s
    return best_s, signed


class ActQuantizer(nn.Module):
    """Per-tensor symmetric LSQ quantizer (METHOD.md): s * round_STE(clamp(x/s, Qn, Qp)), no gradient scale.
    Lazily initialised (act_init) on its first input. Training mode: QDrop, element-wise quantized with probability
    p (mask rand < p picks the quantized value), else FP. Eval mode: always quantized. enabled=False: identity."""

    def __init__(self, bits, p=0.5):
        super().__init__()
        self.bits, self.p = bits, p
        self.s = nn.Parameter(torch.ones(1))
        self.signed = None
        self.enabled = True

    def init(self, x):
        s, self.signed = act_init(x, self.bits)
        with torch.no_grad():
            self.s.copy_(s.reshape(1))

    def bounds(self):
        return (-(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1) if self.signed else (0, 2 ** self.bits - 1)

    def forward(self, x):
        if not self.enabled:
            return x
        if self.signed is None:
            self.init(x)
        qn, qp = self.bounds()
        xq = round_ste(torch.clamp(x / self.s, qn, qp)) * self.s
        if self.training and self.p > 0:
            return torch.where(torch.rand_like(x) < self.p, xq, x)
        return xq


class QuantConv2d(nn.Module):
    """Input-side fake-quant wrapper (METHOD.md): optional activation quantizer on the input, weight quantizer on
    the weight, then the original conv, or linear layer (bias FP)."""

    def __init__(self, conv, w_bits, act_quant=None):
        super().__init__()
        self.conv = conv
        for p in conv.parameters():
            p.requires_grad_(False)
        self.wq = WeightQuantizer(conv.weight, w_bits)
        self.aq = act_quant

    def forward(self, x):
        if self.aq is not None:
            x = self.aq(x)
        c = self.conv
        if isinstance(c, nn.Linear):
            return F.linear(x, self.wq(), c.bias)
        return F.conv2d(x, self.wq(), c.bias, c.stride, c.padding, c.dilation, c.groups)


class QuantIdentity(nn.Module):
    """Shortcut Identity with the (shared) block-input activation quantizer."""

    def __init__(self, act_quant):
        super().__init__()
        self.aq = act_quant

    def forward(self, x):
        return self.aq(x)


class QuantUnit(nn.Module):
    """What the quantized units share: the block-input activation quantizer `aq_in` (conv1's, shared with the
    shortcut: one step size, a separate QDrop mask per consumer call), FP batch norms that stay in eval mode and
    are never trained, and the lists of quantizers the Reconstructor optimizes."""

    def __init__(self, a_bits, a_bits_in=None):
        super().__init__()
        self.aq_in = ActQuantizer(a_bits_in or a_bits)

    def shortcut_of(self, downsample, w_bits):
        """The shortcut reading the block input: Identity or the projection conv (+ BN), both through aq_in."""
        if downsample is None:
            return QuantIdentity(self.aq_in)
        return nn.Sequential(QuantConv2d(downsample[0], w_bits, self.aq_in), downsample[1])

    def freeze_batch_norms(self):
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                for p in m.parameters():
                    p.requires_grad_(False)
        self.train()

    def train(self, mode=True):
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def weight_quantizers(self):
        return [m for m in self.modules() if isinstance(m, WeightQuantizer)]

    def act_quantizers(self):
        return [m for m in self.modules() if isinstance(m, ActQuantizer)]


class QuantLayer(QuantUnit):
    """A conv or linear layer that is a unit by itself (the stem conv, MobileNetV2's last 1x1 conv, the classifier:
    docs/METHOD.md, "Reconstruction units"), through the input quantizer of a_bits_in bits, or none when a_bits_in
    is None (the stem reads the image). Added to the reference's unit types so that a whole model is reconstructed."""

    def __init__(self, layer, w_bits=8, a_bits_in=None):
        super().__init__(a_bits_in or 8)
        self.aq_in.enabled = a_bits_in is not None
        self.layer = QuantConv2d(copy.deepcopy(layer), w_bits, self.aq_in if a_bits_in else None)

    def act_quantizers(self):
        return [self.aq_in] if self.aq_in.enabled else []

    def forward(self, x):
        return self.layer(x)


class QuantBasicBlock(QuantUnit):
    """Quantized BasicBlock: conv1 owns the block-input quantizer, which the shortcut (Identity or downsample
    conv) shares; conv2 has its own quantizer. Call order: conv1 (aq_in), conv2 (aq_mid), shortcut (aq_in again)."""

    def __init__(self, block, w_bits=4, a_bits=4, a_bits_in=None):
        super().__init__(a_bits, a_bits_in)
        block = copy.deepcopy(block)
        self.aq_mid = ActQuantizer(a_bits)
        self.conv1 = QuantConv2d(block.conv1, w_bits, self.aq_in)
        self.bn1 = block.bn1
        self.conv2 = QuantConv2d(block.conv2, w_bits, self.aq_mid)
        self.bn2 = block.bn2
        self.shortcut = self.shortcut_of(block.downsample, w_bits)
        self.freeze_batch_norms()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class QuantBottleneck(QuantUnit):
    """Quantized torchvision Bottleneck (ResNet-50): conv1 and the shortcut share the block-input quantizer; conv2
    and conv3 have their own."""

    def __init__(self, block, w_bits=4, a_bits=4, a_bits_in=None):
        super().__init__(a_bits, a_bits_in)
        block = copy.deepcopy(block)
        self.conv1 = QuantConv2d(block.conv1, w_bits, self.aq_in)
        self.conv2 = QuantConv2d(block.conv2, w_bits, ActQuantizer(a_bits))
        self.conv3 = QuantConv2d(block.conv3, w_bits, ActQuantizer(a_bits))
        self.bn1, self.bn2, self.bn3 = block.bn1, block.bn2, block.bn3
        self.shortcut = self.shortcut_of(block.downsample, w_bits)
        self.freeze_batch_norms()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


class QuantInvertedResidual(QuantUnit):
    """Quantized torchvision InvertedResidual (MobileNetV2): every conv of block.conv quantized, the first through
    the block-input quantizer, which the identity shortcut (stride 1, same channels) shares; the others own theirs."""

    def __init__(self, block, w_bits=4, a_bits=4, a_bits_in=None):
        super().__init__(a_bits, a_bits_in)
        self.body = copy.deepcopy(block.conv)
        convs = [(name, m) for name, m in self.body.named_modules() if isinstance(m, nn.Conv2d)]
        for i, (name, conv) in enumerate(convs):
            replace_module(self.body, name, QuantConv2d(conv, w_bits, self.aq_in if i == 0 else ActQuantizer(a_bits)))
        self.shortcut = QuantIdentity(self.aq_in) if block.use_res_connect else None
        self.freeze_batch_norms()

    def forward(self, x):
        y = self.body(x)
        return y if self.shortcut is None else self.shortcut(x) + y


class RoundingRegularizer:
    """AdaRound regularizer (METHOD.md): R = sum over all V of (1 - |2h(V) - 1|^beta), times weight; zero while
    t < warmup*T (t is 1-based). beta = start during warm-up, then linear from start to end over the rest."""

    def __init__(self, T, weight=1.0, warmup=0.2, start_b=20.0, end_b=2.0):
        self.T, self.weight, self.start, self.start_b, self.end_b = T, weight, warmup * T, start_b, end_b

    def beta(self, t):
        if t < self.start:
            return self.start_b
        rel = (t - self.start) / (self.T - self.start)
        return self.end_b + (self.start_b - self.end_b) * max(0.0, 1.0 - rel)

    def __call__(self, t, vs):
        if t < self.start:
            return None
        b = self.beta(t)
        return self.weight * sum((1 - (2 * rectified_sigmoid(v) - 1).abs().pow(b)).sum() for v in vs)


def rec_loss(y, target):
    """Sum over channels (dim 1) of squared error, mean over everything else (batch, spatial)."""
    return (y - target).pow(2).sum(1).mean()


@torch.no_grad()
def init_act_quantizers(qblock, x_q):
    """Lazy init as in the calibration pass: the unit in training (soft/QDrop) mode sees its first 32 inputs."""
    qblock.train()
    qblock(x_q[:32])


class Reconstructor:
    """GENIE-M optimisation of one unit (METHOD.md). Optimizers: Adam({s_w: 1e-4, s_a: 4e-5}) with
    CosineAnnealingLR(T, 0) stepped every iteration; Adam(V: 1e-3). Mini-batch = N / groups samples of a
    per-epoch permutation. Input = where(U < p, X_q, X_fp). step() does one iteration and returns the loss."""

    def __init__(self, qblock, x_fp, y_fp, x_q, iterations, round_weight=1.0, warmup=0.2, groups=32, p=0.5,
                 lr_s=1e-4, lr_sa=4e-5, lr_v=1e-3, generator=None):
        self.q, self.x_fp, self.y_fp, self.x_q = qblock, x_fp, y_fp, x_q
        if any(a.signed is None for a in qblock.act_quantizers()):
            init_act_quantizers(qblock, x_q)
        qblock.train()
        self.T, self.p = iterations, p
        self.n = x_fp.shape[0]
        assert self.n % groups == 0
        self.groups = groups
        self.g = generator
        wqs = qblock.weight_quantizers()
        self.vs = [w.V for w in wqs]
        self.opt_s = torch.optim.Adam([{"params": [w.s for w in wqs], "lr": lr_s},
                                       {"params": [a.s for a in qblock.act_quantizers()], "lr": lr_sa}])
        self.cosine = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt_s, T_max=iterations, eta_min=0)
        self.opt_v = torch.optim.Adam(self.vs, lr=lr_v)
        self.reg = RoundingRegularizer(iterations, round_weight, warmup)
        self.t = 0
        self.batches = []

    def next_indices(self):
        if not self.batches:
            perm = torch.randperm(self.n, generator=self.g)
            self.batches = list(perm.chunk(self.groups))
        return self.batches.pop(0)

    def step(self, t=None):
        self.t = self.t + 1 if t is None else t
        idx = self.next_indices()
        xq, xf, y = self.x_q[idx], self.x_fp[idx], self.y_fp[idx]
        x = torch.where(torch.rand(xq.shape, generator=self.g) < self.p, xq, xf)
        self.opt_s.zero_grad(set_to_none=True)
        self.opt_v.zero_grad(set_to_none=True)
        loss = rec_loss(self.q(x), y)
        r = self.reg(self.t, self.vs)
        if r is not None:
            loss = loss + r
        loss.backward()
        self.opt_s.step()
        self.opt_v.step()
        self.cosine.step()
        return loss.item()


def reconstruct_block(qblock, x_fp, y_fp, x_q, iterations=20000, round_weight=1.0, seed=0, **kw):
    """Reconstructs one unit (METHOD.md) and leaves it in hard (eval) mode. Returns the list of losses."""
    g = torch.Generator().manual_seed(seed)
    rec = Reconstructor(qblock, x_fp, y_fp, x_q, iterations, round_weight, generator=g, **kw)
    losses = [rec.step() for _ in range(iterations)]
    qblock.eval()
    for p in qblock.parameters():
        p.requires_grad_(False)
    return losses
