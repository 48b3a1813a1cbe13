"""Writes Tests/Fixtures/genie.safetensors: golden values for GENIE-D and GENIE-M (scripts/genie_reference.py).

Run: /usr/bin/python3 scripts/fixtures_genie.py   (deterministic; seeds fixed below)

Precision: the BNS, generator and distillation values are computed in float64 from float32 inputs and stored as
F32. The quantizer values are computed in float32 (their discrete choices, rounding and argmin, follow float32).
Scalars have shape []. Per-channel quantities are stored flat, shape [C]. All tensors are F32 except where noted.

Tiny model ("model.*"): resnet20 topology (3 stages x 3 BasicBlocks, stride-2 + 1x1 projection at the start of
stages 2 and 3) with widths 4/8/16, 1 input channel, 10 classes, run on 4 images of 1x8x8 (spatial 8 -> 4 -> 2).
  model.<key>          torchvision-style state dict (conv1.weight, bn1.{weight,bias,running_mean,running_var},
                       layer{1,2,3}.{0,1,2}.{conv1,conv2}.weight, ...bn{1,2}.*, layer{2,3}.0.downsample.{0,1}.*,
                       fc.weight, fc.bias); no num_batches_tracked. BN affine and running stats are non-trivial.
  model.logits         [4,10] eval-mode forward of bns.images.

BNS loss (docs/METHOD.md; FP model in eval mode, targets running_mean and sqrt(running_var + 1e-6), unbiased stds,
sq(a,b) = ||a-b||^2 / size(b,0), input term per image against N(0,1)):
  bns.images           [4,1,8,8] input images x.
  bns.noswing.loss     [] total BNS loss without swing convolutions.
  bns.noswing.input_term [] the image term alone: sq(0, mean_hw x) + sq(1, std_hw x).
  bns.noswing.grad     [4,1,8,8] d loss / d x.
  bns.swing.offsets    [4,2] I64 fixed swing offsets (ox, oy) of the 4 stride-2 convs in module order:
                       layer2.0.conv1 (0,0), layer2.0.downsample.0 (2,1), layer3.0.conv1 (0,2),
                       layer3.0.downsample.0 (2,2). Swing = reflect-pad 1, crop rows oy..oy+H, cols ox..ox+W.
  bns.swing.loss / bns.swing.input_term / bns.swing.grad   the same with those offsets.

Swing convolution alone:
  swing.x              [1,2,5,5] input;  swing.weight [3,2,3,3] conv weight (no bias, stride 2, padding 1).
  swing.out_o00        [1,3,3,3] swing conv output at (ox, oy) = (0, 0).
  swing.out_o21        [1,3,3,3] at (ox, oy) = (2, 1).   (offset (1,1) is the plain conv)

Generator (METHOD.md, train-mode BN = batch statistics, biased variance, eps 1e-5), tiny: image 8, 1 channel,
latent 16, c1 8, c2 4, init_size 2:
  gen.fc.weight [32,16], gen.fc.bias [32]; gen.bn0.weight/bias [8]; gen.conv1.weight [4,8,3,3], gen.conv1.bias [4];
  gen.bn1.weight/bias [4]; gen.conv2.weight [1,4,3,3], gen.conv2.bias [1]; (gen.bn2 has no affine parameters).
  BN affine parameters are random (non-default) to catch mix-ups.
  gen.z                [4,16] latents.
  gen.out              [4,1,8,8] G(z).
  gen.bns_loss         [] BNS loss (no swing) of the tiny model on G(z).
  gen.bns_grad_z       [4,16] its gradient w.r.t. z.
  gen.bns_grad_conv1_weight [4,8,3,3] its gradient w.r.t. gen.conv1.weight.

GENIE-D trajectory (DistillBatch from gen.* weights and gen.z, tiny model, no swing; z Adam lr 0.1 + plateau,
generator Adam lr 0.01):
  distill.losses       [5] BNS loss of iterations 1..5 (each before that iteration's update).
  distill.images       [4,1,8,8] generator output of the 5th (last) forward.

Weight quantizer (METHOD.md), fixed weight wq.weight [6,4,3,3] (channel 0 has an outlier, channel 5 is all
positive), per output channel, at b = 4 and b = 2 bits (prefix wq4. / wq2.):
  wqB.s0 [6], wqB.zp [6]   Lp(2.4) init over r = 1.00..0.01 (new_max = r*max, new_min = r*min, s = (new_max -
                           new_min)/(2^b-1), zp = round_half_even(-new_min/s), first strict minimum).
  wqB.B [6,4,3,3]          floor(W / s0).
  wqB.V0 [6,4,3,3]         h^-1(W/s0 - B), h(V) = clamp(sigmoid(V)*1.2 - 0.1, 0, 1).
  wqB.soft, wqB.hard       [6,4,3,3] soft s*(clamp(B+h(V)+zp, 0, 2^b-1) - zp) and hard (h(V) -> 1[V>=0]) at (s0, V0).
  wqB.grad_s_init [6], wqB.grad_V_init [6,4,3,3]  gradients of sum(soft * wq.upstream) at (s0, V0).
  wqB.s_pert [6], wqB.V_pert [6,4,3,3]  a perturbed point (s0*(1+0.1n), V0 + 1.5n).
  wqB.soft_pert, wqB.hard_pert, wqB.grad_s, wqB.grad_V  the same at the perturbed point.
  wq.upstream          [6,4,3,3] upstream gradient used for all of the above.

Rounding regularizer (METHOD.md) on V = wq4.V_pert, weight 1: R = sum(1 - |2h(V)-1|^beta):
  reg.b20.value [], reg.b20.grad [6,4,3,3]   beta = 20;   reg.b5.value, reg.b5.grad   beta = 5.
  reg.T100.beta [100]  beta(t) for t = 1..100 with T = 100 (1-based t, warm-up 0.2T: 20 up to t = 19, then
                       2 + 18*max(0, 1 - (t-20)/80)).
  reg.T100.active [100] 1 where the regularizer is applied (t >= 20), else 0.

Activation quantizer (METHOD.md), 4 bits, fixed step aq.step = 0.25, eval mode (no QDrop):
  aq.signed.x [2,3,5,5]   signed input (min < 0); its first 5 values are exact ties x/s = .5, 1.5, -.5, -1.5, 2.5.
  aq.unsigned.x [2,3,5,5] unsigned input (min = 0, post-ReLU); first 3 values exact ties 0.5, 1.5, 2.5.
  aq.upstream [2,3,5,5]   upstream gradient.
  aq.{signed,unsigned}.out     [2,3,5,5] s * round_half_even(clamp(x/s, Qn, Qp)); signed Qn,Qp = -8,7, unsigned 0,15.
  aq.{signed,unsigned}.grad_x  [2,3,5,5] STE: upstream where Qn <= x/s <= Qp, else 0.
  aq.{signed,unsigned}.grad_s  [] sum(upstream * (round(x/s) - x/s inside, Qn or Qp clipped)).
  aq.{signed,unsigned}.init_s4 [], init_s2 []  lazy-init step size at 4 and 2 bits (2.4-norm search, 100 ratios).

Quantized block (METHOD.md) = model.layer2.0 (4 -> 8 channels, stride 2, 1x1 projection) at W4A4, BN FP/eval:
  qblock.x [4,4,8,8]       block input (post-ReLU, unsigned);  qblock.y_fp [4,8,4,4]  FP block output on x.
  qblock.aq_in.s [], qblock.aq_mid.s []   lazy-init step sizes (init with QDrop off: aq_in from x; aq_mid from
                           relu(bn1(conv1(quantized x))) with the soft weights at init).
  qblock.{conv1,conv2,downsample}.s0 [C]  weight quantizer init (from the model weights).
  qblock.out_soft [4,8,4,4] soft weights, activations quantized (QDrop off: p = 0); qblock.out_hard  hard mode.
  qblock.loss []           rec_loss(out_soft, y_fp) (sum over channels, mean over batch and space) + R(beta=10)
                           summed over the V of all three convs.
  qblock.rec_loss []       the rec part alone.
  qblock.grad.{conv1,conv2,downsample}.s [C], .V [same as weight]; qblock.grad.aq_in.s [], qblock.grad.aq_mid.s []
                           gradients of qblock.loss. aq_in is shared by conv1 and the downsample conv.
  qblock.qdrop.mask{0,1,2}  QDrop masks (1: quantized value taken, p = 0.5) of the activation-quantizer calls in
                           order: conv1 (aq_in) [4,4,8,8], conv2 (aq_mid) [4,8,4,4], downsample (aq_in) [4,4,8,8].
  qblock.qdrop.out, qblock.qdrop.loss, qblock.qdrop.grad.*   out_soft, loss and its gradients with those masks.

ZeroQ (the pixels method; zeroq_loss ports ZeroQ's code), tiny model, images bns.images:
  zeroq.loss []         the loss (per-image statistics of every BN's input and of the images).
  zeroq.grad [4,1,8,8]  d loss / d images.
  zeroq.losses [5]      5 steps of ZeroQ's optimizer from bns.images (Adam lr 0.5, ReduceLROnPlateau patience 100,
                        min_lr 1e-4): the loss before each update.
  zeroq.images [4,1,8,8] the pixels after the 5th update (ZeroQ keeps them after the last update).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genie_reference as G  # noqa: E402
from fixtures import FIXTURES, save  # noqa: E402

OUT = os.path.join(FIXTURES, "genie.safetensors")
SWING_OFFSETS = [(0, 0), (2, 1), (0, 2), (2, 2)]


def tiny_model():
    torch.manual_seed(0)
    m = G.resnet20(10, 1, widths=(4, 8, 16), blocks=(3, 3, 3))
    G.set_nontrivial_bn_stats(m, image_size=8, seed=1)
    return m.eval()


def tiny_generator():
    torch.manual_seed(2)
    g = G.Generator(image_size=8, channels=1, latent_dim=16, c1=8, c2=4)
    with torch.no_grad():
        for bn in (g.bn0, g.bn1):
            bn.weight.copy_(1 + 0.3 * torch.randn(bn.weight.shape))
            bn.bias.copy_(0.2 * torch.randn(bn.bias.shape))
    return g


def bns_values(model, x, offsets):
    dm = G.DistillModel(model.double(), swing=offsets is not None, offsets=offsets)
    if offsets is not None:
        names = [n for n, _ in dm.swings]
        assert names == ["layer2.0.conv1", "layer2.0.downsample.0", "layer3.0.conv1", "layer3.0.downsample.0"], names
    x = x.double().requires_grad_(True)
    loss, l_in = dm.loss(x, parts=True)
    (grad,) = torch.autograd.grad(loss, x)
    return loss.detach(), l_in.detach(), grad


def zeroq_loss(model, x, eps=1e-6):
    """ZeroQ's distillation loss (amirgholami/ZeroQ, classification/distill_data.py, getDistilData): the outputs of
    the first as many convolutions as there are batch norms, paired in module order, matched per image (mean and
    sqrt(var + eps) over H x W) to the batch norms' running statistics, plus the same on the input against 0 and 1;
    own_loss(A, B) = ||A - B||^2 / B.size(0)."""
    def own_loss(a, b):
        return (a - b).norm() ** 2 / b.size(0)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    stats = [(m.running_mean.detach().flatten(), torch.sqrt(m.running_var + eps).detach().flatten()) for m in bns]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][:len(bns)]
    outputs = {}
    handles = [c.register_forward_hook(lambda mod, inp, o: outputs.__setitem__(mod, o)) for c in convs]
    model.eval()(x)
    for h in handles:
        h.remove()
    mean_loss, std_loss = 0, 0
    for (bn_mean, bn_std), c in zip(stats, convs):
        o = outputs[c].reshape(x.size(0), outputs[c].size(1), -1)
        mean_loss += own_loss(bn_mean, o.mean(dim=2))
        std_loss += own_loss(bn_std, torch.sqrt(o.var(dim=2) + eps))
    flat = x.reshape(x.size(0), x.size(1), -1)
    mean_loss += own_loss(torch.zeros(1, x.size(1), dtype=x.dtype), flat.mean(dim=2))
    std_loss += own_loss(torch.ones(1, x.size(1), dtype=x.dtype), torch.sqrt(flat.var(dim=2) + eps))
    return mean_loss + std_loss


def main():
    out = {}
    model = tiny_model()
    for k, v in model.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            out["model." + k] = v.clone()
    torch.manual_seed(3)
    images = torch.randn(4, 1, 8, 8) * 1.3 + 0.2
    out["bns.images"] = images
    with torch.no_grad():
        out["model.logits"] = model.double()(images.double())
    for tag, offs in (("noswing", None), ("swing", SWING_OFFSETS)):
        loss, l_in, grad = bns_values(tiny_model(), images, offs)
        out[f"bns.{tag}.loss"], out[f"bns.{tag}.input_term"], out[f"bns.{tag}.grad"] = loss, l_in, grad
    out["bns.swing.offsets"] = torch.tensor(SWING_OFFSETS, dtype=torch.int64)

    # swing conv alone
    torch.manual_seed(4)
    sx, sw = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    conv = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(sw.double())
        out["swing.x"], out["swing.weight"] = sx, sw
        out["swing.out_o00"] = G.SwingConv2d(conv, None, (0, 0))(sx.double())
        out["swing.out_o21"] = G.SwingConv2d(conv, None, (2, 1))(sx.double())

    # generator
    gen = tiny_generator()
    for k, v in gen.state_dict().items():
        if k.startswith("bn") and not k.endswith(("weight", "bias")):
            continue  # running stats are unused (always batch statistics)
        out["gen." + k] = v
    torch.manual_seed(5)
    z = torch.randn(4, 16)
    out["gen.z"] = z
    gen64 = tiny_generator().double().train()
    zz = z.double().requires_grad_(True)
    x = gen64(zz)
    out["gen.out"] = x.detach()
    dm = G.DistillModel(tiny_model().double(), swing=False)
    loss = dm.loss(x)
    gz, gw = torch.autograd.grad(loss, [zz, gen64.conv1.weight])
    out["gen.bns_loss"], out["gen.bns_grad_z"], out["gen.bns_grad_conv1_weight"] = loss.detach(), gz, gw

    # distillation trajectory
    run = G.DistillBatch(G.DistillModel(tiny_model().double(), swing=False), tiny_generator().double(), z.double())
    losses = []
    for _ in range(5):
        v, xs = run.step()
        losses.append(v)
    out["distill.losses"] = torch.tensor(losses, dtype=torch.float64)
    out["distill.images"] = xs

    # weight quantizer
    torch.manual_seed(6)
    w = torch.randn(6, 4, 3, 3) * 0.2
    w[0, 1, 2, 2] = 1.5   # outlier: clipping pays off
    w[5] = w[5].abs() + 0.05  # all-positive channel (zero point below the grid)
    up = torch.randn(6, 4, 3, 3)
    out["wq.weight"], out["wq.upstream"] = w, up
    for bits in (4, 2):
        p = f"wq{bits}."
        q = G.WeightQuantizer(w, bits)
        out[p + "s0"], out[p + "zp"], out[p + "B"], out[p + "V0"] = q.s.detach().flatten().clone(), q.zp.flatten(), q.B, \
            q.V.detach().clone()
        for suffix in ("_init", "_pert"):
            if suffix == "_pert":
                with torch.no_grad():
                    q.s.mul_(1 + 0.1 * torch.randn(6, 1, 1, 1))
                    q.V.add_(1.5 * torch.randn(q.V.shape))
                out[p + "s_pert"], out[p + "V_pert"] = q.s.detach().flatten().clone(), q.V.detach().clone()
            q.train()
            soft = q()
            gs, gv = torch.autograd.grad((soft * up).sum(), [q.s, q.V])
            q.eval()
            with torch.no_grad():
                hard = q()
            name = "" if suffix == "_init" else "_pert"
            out[p + "soft" + name], out[p + "hard" + name] = soft.detach(), hard
            out[p + "grad_s" + ("_init" if suffix == "_init" else "")] = gs.flatten()
            out[p + "grad_V" + ("_init" if suffix == "_init" else "")] = gv

    # rounding regularizer
    v = out["wq4.V_pert"].clone().requires_grad_(True)
    for beta in (20, 5):
        r = (1 - (2 * G.rectified_sigmoid(v) - 1).abs().pow(beta)).sum()
        (g,) = torch.autograd.grad(r, v)
        out[f"reg.b{beta}.value"], out[f"reg.b{beta}.grad"] = r.detach(), g
    reg = G.RoundingRegularizer(100)
    out["reg.T100.beta"] = torch.tensor([reg.beta(t) for t in range(1, 101)])
    out["reg.T100.active"] = torch.tensor([float(t >= reg.start) for t in range(1, 101)])
    probe = reg(100, [v])  # consistency: at t = T, beta = 2
    assert abs(probe.item() - (1 - (2 * G.rectified_sigmoid(v) - 1).abs().pow(2)).sum().item()) < 1e-3

    # activation quantizer
    torch.manual_seed(7)
    step = 0.25
    xs_ = torch.randn(2, 3, 5, 5) * 1.2
    xs_.view(-1)[:5] = torch.tensor([0.5, 1.5, -0.5, -1.5, 2.5]) * step
    xu = torch.relu(torch.randn(2, 3, 5, 5) * 1.5)
    xu.view(-1)[:3] = torch.tensor([0.5, 1.5, 2.5]) * step
    xu.view(-1)[3] = 0.0
    aup = torch.randn(2, 3, 5, 5)
    out["aq.step"], out["aq.upstream"] = torch.tensor(step), aup
    for tag, xx in (("signed", xs_), ("unsigned", xu)):
        aq = G.ActQuantizer(4).eval()
        s4, signed = G.act_init(xx, 4)
        s2, _ = G.act_init(xx, 2)
        assert signed == (tag == "signed")
        aq.signed = signed
        with torch.no_grad():
            aq.s.fill_(step)
        xg = xx.clone().requires_grad_(True)
        y = aq(xg)
        gx, gs = torch.autograd.grad((y * aup).sum(), [xg, aq.s])
        p = f"aq.{tag}."
        out[p + "x"], out[p + "out"], out[p + "grad_x"], out[p + "grad_s"] = xx, y.detach(), gx, gs.reshape(())
        out[p + "init_s4"], out[p + "init_s2"] = torch.as_tensor(s4), torch.as_tensor(s2)

    # quantized block
    fp = tiny_model()
    block = fp.layer2[0]
    torch.manual_seed(8)
    with torch.no_grad():
        qx = torch.relu(torch.randn(4, 4, 8, 8))
        y_fp = block(qx.clone())
    qb = G.QuantBasicBlock(block, 4, 4)
    for a in qb.act_quantizers():
        a.p = 0.0  # QDrop off: deterministic
    G.init_act_quantizers(qb, qx)
    out["qblock.x"], out["qblock.y_fp"] = qx, y_fp
    out["qblock.aq_in.s"], out["qblock.aq_mid.s"] = qb.aq_in.s.detach().reshape(()), qb.aq_mid.s.detach().reshape(())
    convs = {"conv1": qb.conv1, "conv2": qb.conv2, "downsample": qb.shortcut[0]}
    for n, c in convs.items():
        out[f"qblock.{n}.s0"] = c.wq.s.detach().flatten().clone()
    qb.train()
    ys = qb(qx)
    rec = G.rec_loss(ys, y_fp)
    vs = [c.wq.V for c in convs.values()]
    loss = rec + sum((1 - (2 * G.rectified_sigmoid(v) - 1).abs().pow(10)).sum() for v in vs)
    params = [c.wq.s for c in convs.values()] + vs + [qb.aq_in.s, qb.aq_mid.s]
    grads = torch.autograd.grad(loss, params)
    out["qblock.out_soft"], out["qblock.loss"], out["qblock.rec_loss"] = ys.detach(), loss.detach(), rec.detach()
    for i, n in enumerate(convs):
        out[f"qblock.grad.{n}.s"] = grads[i].flatten()
        out[f"qblock.grad.{n}.V"] = grads[3 + i]
    out["qblock.grad.aq_in.s"], out["qblock.grad.aq_mid.s"] = grads[6].reshape(()), grads[7].reshape(())
    qb.eval()
    with torch.no_grad():
        out["qblock.out_hard"] = qb(qx)

    # the same block in QDrop mode (p = 0.5), its masks recorded in call order: conv1 (aq_in), conv2 (aq_mid),
    # shortcut (aq_in again)
    for a in qb.act_quantizers():
        a.p = 0.5
    torch.manual_seed(9)
    masks, rand_like = [], torch.rand_like

    def recording_rand_like(t):
        r = rand_like(t)
        masks.append((r < 0.5).float())
        return r
    torch.rand_like = recording_rand_like
    qb.train()
    ys = qb(qx)
    torch.rand_like = rand_like
    assert [tuple(m.shape) for m in masks] == [(4, 4, 8, 8), (4, 8, 4, 4), (4, 4, 8, 8)]
    loss = G.rec_loss(ys, y_fp) + sum((1 - (2 * G.rectified_sigmoid(v) - 1).abs().pow(10)).sum() for v in vs)
    grads = torch.autograd.grad(loss, params)
    for i, m in enumerate(masks):
        out[f"qblock.qdrop.mask{i}"] = m
    out["qblock.qdrop.out"], out["qblock.qdrop.loss"] = ys.detach(), loss.detach()
    for i, n in enumerate(convs):
        out[f"qblock.qdrop.grad.{n}.s"] = grads[i].flatten()
        out[f"qblock.qdrop.grad.{n}.V"] = grads[3 + i]
    out["qblock.qdrop.grad.aq_in.s"], out["qblock.qdrop.grad.aq_mid.s"] = grads[6].reshape(()), grads[7].reshape(())

    # ZeroQ (the pixels method) on the tiny model, from the images of bns.images
    zx = out["bns.images"].double().requires_grad_(True)
    zloss = zeroq_loss(tiny_model().double(), zx)
    (zgrad,) = torch.autograd.grad(zloss, zx)
    out["zeroq.loss"], out["zeroq.grad"] = zloss.detach(), zgrad
    zmodel, zx = tiny_model().double(), out["bns.images"].double().clone().requires_grad_(True)
    opt = torch.optim.Adam([zx], lr=0.5)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=1e-4, patience=100)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        zloss = zeroq_loss(zmodel, zx)
        zloss.backward()
        opt.step()
        plateau.step(zloss.item())
        losses.append(zloss.item())
    out["zeroq.losses"] = torch.tensor(losses, dtype=torch.float64)
    out["zeroq.images"] = zx.detach()

    save(OUT, out, {"source": "scripts/fixtures_genie.py", "torch": torch.__version__})
    print(f"wrote {OUT}: {len(out)} tensors, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
