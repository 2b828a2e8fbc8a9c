"""Write the numbered notebooks (without outputs) from the cell sources below.

Run ``python notebooks/_build.py`` after editing; ``tests/test_notebooks.py`` executes every
notebook, and each one asserts its key facts in code cells, so executing it is a test.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

# shared first code cell: imports (convproof's figures show themselves: no helper needed)
SETUP = r"""import numpy as np
import sympy
from IPython.display import Markdown, Math, display

import convproof as cp
from convproof.presentation import render
"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip("\n"))


# --------------------------------------------------------------------------------------
# 01 channels and feature maps
# --------------------------------------------------------------------------------------

NB01 = [
    md(r"""
# 01 · Channels and feature maps

*"My input is 25×25×3 and I use five 3×3 kernels. How do three channels collapse into a
feature map of depth one? Is it a sum? A max?"* — the question behind the seeds.

It is a **sum**. Each kernel is really 3×3×**3**: one 3×3 slice per input channel. At every
position the three slices give three dot products; they are added, one bias is added, and the
result is one number of one feature map. Five kernels give five feature maps:

$$Z_{c,a,b} \;=\; b_c \;+\; \sum_{k=0}^{C_\text{in}-1}\;\sum_{i=0}^{K_h-1}\sum_{j=0}^{K_w-1}
X_{k,\;a s + i d - p,\;b s + j d - p}\; W_{c,k,i,j}$$

(channels first, cross-correlation — no kernel flip — as in every deep-learning framework).
"""),
    code(SETUP),
    code(r"""spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
print("output shape:", spec.output_shape((3, 25, 25)))
print("weight shape:", spec.weight_shape, " (5 kernels of 3 x 3 x 3)")
assert spec.output_shape((3, 25, 25)) == (5, 25, 25)
assert spec.weight_shape == (5, 3, 3, 3)
assert spec.num_params == 5 * 3 * 3 * 3 + 5 == 140"""),
    md(r"""
## The exact sum behind one output element

`convproof.presentation.render.element_sum` writes out the sum for any output element, channel by
channel. Here is feature map 4 at position (12, 12): 27 products — 9 per input channel — and
one bias.
"""),
    code(r"""e = render.element_sum(spec, (3, 25, 25), (4, 12, 12))
print(e.text())
assert len(e.channels) == 3 and all(len(terms) == 9 for _, terms in e.channels)
assert e.bias == (4,)"""),
    code(r"""small = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=2)
display(Math(render.element_sum(small, (3, 4, 4), (0, 0, 0)).latex()))"""),
    md(r"""
At the border the "same" padding adds zeros: those taps contribute nothing and are listed
as skipped. The corner element has only 4 of the 9 taps per channel:
"""),
    code(r"""corner = render.element_sum(spec, (3, 25, 25), (0, 0, 0))
print(corner.text())
assert len(corner.terms) == 3 * 4 and len(corner.skipped) == 5"""),
    md(r"""
## Three scalars, summed, plus a bias

Check the answer numerically: compute the three per-channel dot products by hand, add them
and the bias, and compare with the convolution (`cp.conv`, and the sum's own evaluation).
Integer data keeps everything exact.
"""),
    code(r"""rng = np.random.default_rng(0)
x = rng.integers(-5, 6, size=(3, 25, 25))
w = rng.integers(-3, 4, size=(5, 3, 3, 3))
b = rng.integers(-3, 4, size=5)

c, a, bb = 4, 12, 12
per_channel = [int((x[k, a - 1:a + 2, bb - 1:bb + 2] * w[c, k]).sum()) for k in range(3)]
by_hand = sum(per_channel) + int(b[c])
z = cp.conv(spec, x, w, b)
print("per-channel dot products:", per_channel, "+ bias", int(b[c]), "=", by_hand)
assert by_hand == z[c, a, bb] == e.evaluate(x, w, b)"""),
    md(r"""
## 75 + 1 parameters versus 3 073

The second seed: a 32×32×3 image and one 5×5 filter. The filter is 5×5×3 = 75 weights plus
one bias; the same weights slide over every position, so the count does not depend on the
image size. A fully connected neuron on the same image needs one weight per input value:
32·32·3 = 3 072, plus its bias.
"""),
    code(r"""one = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5)
dense_neuron = 32 * 32 * 3 + 1
print("conv output:", one.output_shape((3, 32, 32)), " params:", one.num_params)
print("fully connected neuron on 32x32x3:", dense_neuron)
assert one.output_shape((3, 32, 32)) == (1, 28, 28)
assert one.num_params == 75 + 1
assert dense_neuron == 3073
strided = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5, stride=2)
assert strided.output_shape((3, 32, 32)) == (1, 14, 14)   # "stride 2 -> 14x14"
assert cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5).num_params == 76
assert cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5).output_shape(
    (3, 256, 256)) == (1, 252, 252)   # still 76 parameters on ImageNet-sized input"""),
    code(r"""f = cp.params_formula("conv", ndim=2)
display(Math(r"\text{params} = " + sympy.latex(f.expr)))"""),
    md(r"""
## The kernel sliding over the padded input

One channel plane is drawn (all channels slide together). Dark cells are taps on the
input, light cells taps on the zero padding (dashed); the output cell being computed is
green. This is the seed's Figure 3: input 5, kernel 3, stride 1, padding 1 → output 5.
"""),
    code(r"""fig = render.sliding_figure(
    cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=3, padding=1), (3, 5, 5), max_frames=4
)
display(fig)
first = fig.axes[0]
assert sum(p.get_gid() == "tap-input" for p in first.patches) == 4   # 2x2 taps on the input"""),
    md(r"""
## Special case: the 1×1 convolution

A 1×1 kernel is a pixel-wise linear map across channels: $Z_{:,a,b} = W\,X_{:,a,b} + b$.
"""),
    code(r"""pw = cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=1)
w1 = rng.integers(-3, 4, size=(2, 3, 1, 1))
b1 = rng.integers(-3, 4, size=2)
z1 = cp.conv(pw, x, w1, b1)
assert (z1 == np.einsum("ck,kab->cab", w1[:, :, 0, 0], x) + b1[:, None, None]).all()
print("1x1 conv == per-pixel matrix product:", True)"""),
]

# --------------------------------------------------------------------------------------
# 02 output size
# --------------------------------------------------------------------------------------

NB02 = [
    md(r"""
# 02 · Output size

The seeds quote $O = \frac{I + 2P - K}{S} + 1$. Where does it come from, and what happens
when the division is not exact? convproof **derives** the formula by counting window
positions: window $a$ reads padded positions $a s,\dots,a s + k_\text{eff} - 1$ with
$k_\text{eff} = d(k-1)+1$, so it is valid iff $a \ge 0$ and
$a s + k_\text{eff} - 1 \le i + p_l + p_r - 1$. Counting those integers $a$ gives the
formula with a floor.
"""),
    code(SETUP),
    code(r"""f = cp.output_size_formula("conv")
display(Math("o = " + sympy.latex(f.expr)))
for step in f.derivation:
    print("-", step)
i, k, s, d, p_l, p_r = (cp.SYMBOLS[n] for n in ("i", "k", "s", "d", "p_l", "p_r"))
expected = sympy.floor((i + p_l + p_r - (d * (k - 1) + 1)) / s) + 1
assert sympy.simplify(f.expr - expected) == 0"""),
    md(r"""
The seeds' numbers, and what the floor means: with $I=32, K=5, S=2$ the fraction is
$27/2 + 1 = 14.5$, and the layer has **14** outputs; the last input row is never read.
"""),
    code(r"""sym = cp.output_size_formula("conv", padding="symmetric")
display(Math("o = " + sympy.latex(sym.expr)))
assert sym.value(i=32, k=5, s=1, d=1, p=0) == 28
assert sym.value(i=32, k=5, s=2, d=1, p=0) == 14
assert sym.value(i=25, k=3, s=1, d=1, p=1) == 25          # "same" padding keeps 25
assert sym.value(i=7, k=3, s=3, d=1, p=0) == 2            # SEMANTICS: input 6 never read
spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=3, ndim=1)
read = {t.input[1] for o in range(2) for t in render.element_sum(spec, (1, 7), (0, o)).terms}
print("inputs read:", sorted(read))
assert 6 not in read and read == set(range(6))"""),
    md(r"""
## Dumoulin & Visin's relationships 1–15

*A guide to convolution arithmetic for deep learning* states fifteen relationships for
convolutions, pooling and transposed convolutions. Each one is proved equal to the derived
formula (and, for the transposed ones, to the equivalent direct convolution).
"""),
    code(r"""rows = ["| # | relationship | conditions | stated | status | method |", "|--:|---|---|---|---|---|"]
for r in cp.relationships():
    rows.append(f"| {r.number} | {r.title} | {r.conditions} | ${sympy.latex(r.formula)}$ "
                f"| {r.status} | {r.method} |")
display(Markdown("\n".join(rows)))
assert [r.number for r in cp.relationships()] == list(range(1, 16))
assert all(r.status == "proved" for r in cp.relationships())"""),
    md(r"""
## The "same" conventions side by side

| name | total padding | odd extra goes to |
|---|---|---|
| PyTorch `same` | $d(k-1)$, stride 1 only | the end |
| TF/JAX `SAME` = ONNX `SAME_UPPER` | $\max(0, (\lceil i/s\rceil - 1)s + k_\text{eff} - i)$ | the end |
| ONNX/JAX `SAME_LOWER` | same total | the start |

With $i = 224, k = 7, s = 2$: TF's `SAME` gives 112 outputs and pads $(2, 3)$;
PyTorch users often write `padding=3`, which gives the same size with shifted values.
"""),
    code(r"""def row(padding, stride, i=224, k=7):
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=k, stride=stride,
                       padding=padding, ndim=1)
    return spec.resolve_padding((1, i))[0], spec.output_shape((1, i))[1]

table = {
    "SAME_UPPER (TF SAME)": row("SAME_UPPER", 2),
    "SAME_LOWER": row("SAME_LOWER", 2),
    "padding=3 (PyTorch habit)": row(3, 2),
    "same (PyTorch, stride 1)": row("same", 1),
    "full (stride 1)": row("full", 1),
    "valid": row("valid", 2),
}
display(Markdown("| padding | (before, after) | output |\n|---|---|--:|\n" + "\n".join(
    f"| {name} | {pads} | {o} |" for name, (pads, o) in table.items())))
assert table["SAME_UPPER (TF SAME)"] == ((2, 3), 112)
assert table["SAME_LOWER"] == ((3, 2), 112)
assert table["padding=3 (PyTorch habit)"] == ((3, 3), 112)
assert table["same (PyTorch, stride 1)"] == ((3, 3), 224)
assert table["full (stride 1)"] == ((6, 6), 230)
assert table["valid"] == ((0, 0), 109)"""),
    code(r"""same = cp.output_size_formula("conv", padding="SAME_UPPER")
display(Math(r"o_\text{SAME} = " + sympy.latex(same.expr)))
for i_ in range(1, 40):
    for s_ in (1, 2, 3):
        assert same.value(i=i_, k=3, s=s_, d=1) == -(-i_ // s_)   # ceil(i / s)"""),
    md(r"""
An even kernel makes the difference visible: with $i=5, k=4$ the total padding is 3, split
$(1, 2)$ by `SAME_UPPER` and $(2, 1)$ by `SAME_LOWER`. Dashed cells are padding.
"""),
    code(r"""upper = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, padding="SAME_UPPER")
lower = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, padding="SAME_LOWER")
display(render.sliding_figure(upper, (1, 5, 5), max_frames=2))
display(render.sliding_figure(lower, (1, 5, 5), max_frames=2))
assert upper.resolve_padding((1, 5, 5)) == ((1, 2), (1, 2))
assert lower.resolve_padding((1, 5, 5)) == ((2, 1), (2, 1))"""),
    md(r"""
## Transposed convolution and pooling

$o' = (i'-1)s - p_l - p_r + d(k-1) + \text{op} + 1$; and PyTorch's `ceil_mode` pooling drops a
last window that would start in the right padding.
"""),
    code(r"""t = cp.output_size_formula("conv_transpose")
display(Math("o' = " + sympy.latex(t.expr)))
assert t.value(i=8, k=3, s=2, d=1, p_l=1, p_r=1, op=1) == 16
ceil = cp.output_size_formula("pool", ceil_mode=True)
assert ceil.value(i=32, k=1, s=2, d=1, p_l=0, p_r=0) == 16   # not 17
assert ceil.value(i=5, k=2, s=2, d=1, p_l=1, p_r=1) == 3"""),
]

# --------------------------------------------------------------------------------------
# 03 conv as matrix
# --------------------------------------------------------------------------------------

NB03 = [
    md(r"""
# 03 · Convolution as a matrix

A convolution is linear in its input, so with the input and output unrolled row-major it is
a matrix: $\operatorname{vec}(Z) = T \operatorname{vec}(X) + \text{bias}$. The seed's
example: a 3×3 input and a 2×2 kernel $\begin{pmatrix} a & b\\ c & d\end{pmatrix}$ give a
2×2 output and a **4×9** matrix with 16 non-zeros:

$$T = \begin{pmatrix}
a & b & 0 & c & d & 0 & 0 & 0 & 0\\
0 & a & b & 0 & c & d & 0 & 0 & 0\\
0 & 0 & 0 & a & b & 0 & c & d & 0\\
0 & 0 & 0 & 0 & a & b & 0 & c & d
\end{pmatrix}$$
"""),
    code(SETUP),
    code(r"""seed = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
T = cp.conv_matrix(seed, (1, 3, 3))          # symbolic: entries are the kernel symbols
display(Math("T = " + sympy.latex(T)))
assert T.shape == (4, 9)
nonzero = [[c for c in range(9) if T[r, c] != 0] for r in range(4)]
# the seed's layout: a b at columns o, o+1 and c d at o+3, o+4, for o = 0, 1, 3, 4
assert nonzero == [[o, o + 1, o + 3, o + 4] for o in (0, 1, 3, 4)]
assert sum(len(r) for r in nonzero) == 16
a, b_, c, d = T[0, 0], T[0, 1], T[0, 3], T[0, 4]
assert [T[1, 1], T[1, 2], T[1, 4], T[1, 5]] == [a, b_, c, d]"""),
    md(r"""
## Dumoulin & Visin's 4×16 example

A 4×4 input and a 3×3 kernel give a 2×2 output, so $T$ is 4×16; its first row is
$w_{00}\, w_{01}\, w_{02}\, 0\, w_{10}\, w_{11}\, w_{12}\, 0\, w_{20}\, w_{21}\, w_{22}\, 0\,0\,0\,0\,0$.
With the kernel $1,\dots,9$:
"""),
    code(r"""dv = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, bias=False)
w = np.arange(1, 10, dtype=np.int64).reshape(1, 1, 3, 3)
T16 = cp.conv_matrix(dv, (1, 4, 4), w)
print(T16.toarray())
assert T16.shape == (4, 16)
assert T16.toarray()[0].tolist() == [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0]
x = np.arange(16, dtype=np.int64).reshape(1, 4, 4)
assert (T16 @ x.ravel() == cp.conv(dv, x, w).ravel()).all()"""),
    md(r"""
## The proof

The matrix is built from per-axis index patterns (Kronecker structure), **not** from the
sliding-window sum, so proving the two equal is a real check. `cp.prove` compares both
sides as polynomials in the symbols $X$, $W$, $b$ — exactly, no floating point:
"""),
    code(r'''result = cp.prove(cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=3, padding=1), (3, 5, 5))
print(result)
assert result and result.status == "proved"'''),
    code(r"""general = cp.prove_general(kind="conv", ndim=2, cases=20)
print(general.statement)
for step in general.steps:
    print(" -", step[:140])
assert general.status == "proved" and general.spot_check["passed"]"""),
    md(r"""
## The picture: channel blocks and Toeplitz blocks

Two input and two output channels, 4×4 input, "same" padding: a 2×2 grid of channel blocks
(red), each a 4×4 grid of Toeplitz blocks (grey) — the doubly-block Toeplitz structure.
"""),
    code(r"""two = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1)
fig = render.matrix_figure(two, (2, 4, 4))
display(fig)
structure = cp.matrix_structure(two, (2, 4, 4))
print([(lv.name, lv.grid, lv.kind) for lv in structure.levels])
assert structure.toeplitz
ax = fig.axes[0]
assert int(ax.images[0].get_array().sum()) == cp.nnz(two, (2, 4, 4))
assert sum(ln.get_gid() == "channel-boundary" for ln in ax.lines) == 2"""),
    md(r"""
## Transposed convolution is $T^\top$

The transposed convolution with the same kernel, stride and padding is the adjoint: its
matrix is exactly the transpose of the forward matrix. (That is why it maps a 2×2 map back
to 4×4.) Drawn as Dumoulin & Visin do — the equivalent direct convolution on the input with
zeros inserted between elements (grey) and padded by $k-1-p$:
"""),
    code(r"""tspec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, bias=False)
Tt = cp.conv_matrix(tspec, (1, 2, 2), w)
assert Tt.shape == (16, 4)
assert (Tt.toarray() == T16.toarray().T).all()
y = np.array([[[1, -2], [3, 4]]])
assert (cp.conv(tspec, y, w).ravel() == T16.T @ y.ravel()).all()
display(Math(r"T_\text{transposed} = T^\top \quad(16 \times 4)"))

strided = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2)
fig = render.sliding_figure(strided, (1, 3, 3), max_frames=4)
display(fig)
assert sum(p.get_gid() == "zero-insert" for p in fig.axes[0].patches) == 5 * 5 - 9"""),
]

# --------------------------------------------------------------------------------------
# 04 property testing
# --------------------------------------------------------------------------------------

NB04 = [
    md(r"""
# 04 · Property-testing your convolution

You wrote a convolution (NumPy, CUDA, Triton, a port between frameworks). Is it right for
*every* stride, padding, dilation and group count? convproof publishes Hypothesis strategies
that generate valid problems and a checker that compares your function with an independent
reference and **shrinks** any failure to a minimal counterexample:

$$\forall\, (\text{spec}, X, W, b):\quad \texttt{my\_conv}(X, W, b;\ s, p, d, g) = Z_\text{spec}(X, W, b)$$
"""),
    code(SETUP),
    md(r"""
## A convolution to test

A straightforward NumPy implementation with PyTorch's functional signature, and a
deliberately buggy variant (`bug=True`) that ignores the dilation when it slices the window.
"""),
    code(r"""def my_conv(x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
            *, bug=False):
    n, c, h, w_ = x.shape
    co, cg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    th, tw = (1, 1) if bug else (dh, dw)   # the bug: taps read contiguously, dilation ignored
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w_ + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, co, oh, ow))
    per = co // groups
    for o in range(co):
        g = o // per
        for i in range(oh):
            for j in range(ow):
                win = xp[:, g * cg:(g + 1) * cg,
                         i * sh:i * sh + th * (kh - 1) + 1:th,
                         j * sw:j * sw + tw * (kw - 1) + 1:tw]
                out[:, o, i, j] = (win * weight[o]).sum(axis=(1, 2, 3))
        if bias is not None:
            out[:, o] += bias[o]
    return out


def buggy_conv(x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    # the bug: windows are read contiguously (dilation ignored) -- but the output size is right
    return my_conv(x, weight, bias, stride, padding, dilation, groups, bug=True)"""),
    md(r"""
## The strategies

`cp.strategies.conv_problems()` draws a spec, an input shape that fits it, and small-integer
arrays (exact in float64). Use them in your own Hypothesis tests — here a property that holds
for every problem: the conv matrix times the input equals the convolution.
"""),
    code(r"""from hypothesis import given, settings


@settings(max_examples=40, deadline=None, database=None)
@given(cp.strategies.conv_problems(kind="conv", max_channels=3, max_extra_size=2))
def matrix_equals_conv(problem):
    spec, shape, x, weight, bias = problem
    xs = x if len(shape) == spec.ndim + 2 else x[None]
    T = cp.conv_matrix(spec, shape, weight)
    z = cp.conv(spec, xs, weight, bias)
    per_channel = int(np.prod(z.shape[2:]))
    b = np.zeros(T.shape[0]) if bias is None else np.repeat(bias, per_channel)
    for sample, out in zip(xs, z):
        assert np.allclose(T @ sample.ravel() + b, out.ravel())


matrix_equals_conv()
print("T x + bias == conv(x) on 40 generated problems")"""),
    md(r"""
## The checker

`cp.check_conv` calls your function like `torch.nn.functional.conv2d` on generated problems
and compares with convproof's numeric convolution. The correct implementation passes:
"""),
    code(r"""good = cp.check_conv(my_conv, max_examples=60, seed=0)
print(good)
assert good and good.counterexample is None"""),
    md(r"""
The buggy one fails, and Hypothesis shrinks the failure: the counterexample is the smallest
problem that shows the bug — a dilated kernel, with almost everything else at its minimum.
"""),
    code(r"""bad = cp.check_conv(buggy_conv, max_examples=200, seed=0)
print(bad)
assert not bad
cx = bad.counterexample
assert any(d > 1 for d in cx.spec.dilation)          # the shrunk problem exposes dilation
assert max(cx.spec.kernel_size) == 2                  # and nothing bigger than needed"""),
    md(r"""
Where the reference reads the input — the dilated taps of the counterexample's first
output, drawn on its (padded) input:
"""),
    code(r"""spec = cx.spec
print(render.element_sum(spec, cx.input_shape, (0,) * (spec.ndim + 2)).text())
if spec.ndim in (1, 2):
    display(render.sliding_figure(spec, cx.input_shape, max_frames=2))"""),
]

# --------------------------------------------------------------------------------------
# 05 receptive fields
# --------------------------------------------------------------------------------------

NB05 = [
    md(r"""
# 05 · Receptive fields

Which input pixels can change one output? Through layers $1..L$ (Araujo, Norris & Sim,
*Computing receptive fields of convolutional neural networks*, Distill 2019), per axis:

$$r_L = 1 + \sum_{l=1}^{L} (k_{\text{eff},l} - 1) \prod_{i=1}^{l-1} s_i, \qquad
S_L = \prod_{l=1}^{L} s_l, \qquad
P_L = \sum_{l=1}^{L} p_{l} \prod_{i=1}^{l-1} s_i$$

and output $y$ sees the input interval $[-P_L + y S_L,\; -P_L + y S_L + r_L - 1]$.
"""),
    code(SETUP),
    md(r"""
## A network summary

VGG-16 as shipped with convproof (torchvision's architecture): shapes, parameters, MACs and
receptive fields per layer.
"""),
    code(r"""vgg = cp.load_network("vgg16")
s = cp.summary(vgg, (3, 224, 224))
display(Markdown(s.to_markdown()))
assert s.total_params == 138_357_544            # torchvision's published count
assert s["features.28"].receptive_field == (196, 196)
assert s["features.30"].receptive_field == (212, 212)"""),
    md(r"""
The same numbers from the recursion above, applied to the shipped layer list by hand
(every VGG conv is 3×3, stride 1, padding 1; every pool 2×2, stride 2):
"""),
    code(r"""cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
r, S, P, rf = 1, 1, 0, []
for item in cfg:
    k, stride, pad = (2, 2, 0) if item == "M" else (3, 1, 1)
    r, P, S = r + (k - 1) * S, P + pad * S, S * stride
    rf.append(r)
display(Math(r"r_\text{pool5} = %d,\quad S = %d,\quad P = %d" % (r, S, P)))
convs = [row for row in s.rows if row.kind in ("conv", "max_pool")]
assert [row.receptive_field[0] for row in convs] == rf
assert (convs[-1].effective_stride[0], convs[-1].effective_padding[0]) == (S, P)"""),
    md(r"""
Drawn on the 224×224 input: what one output of VGG-16's third pooling layer (`features.16`,
receptive field 44, effective stride 8) sees. `render.receptive_field` traces the exact input
positions backwards through every layer of the shipped network.
"""),
    code(r"""upto = vgg.names.index("features.16") + 1
vgg_specs = [n.layer for n in vgg.nodes[:upto] if isinstance(n.layer, (cp.ConvSpec, cp.PoolSpec))]
y = (10, 20)
region = render.receptive_field(vgg_specs, (3, 224, 224), y)
display(render.receptive_field_figure(vgg_specs, (3, 224, 224), y))
expected = s.receptive_region("features.16", y)
assert [(min(a), max(a)) for a in region] == [
    (max(0, lo), min(223, hi)) for lo, hi in zip(expected.start, expected.stop)
]
assert [len(a) for a in region] == [44, 44]"""),
    md(r"""
## The receptive field drawn on the input

A small network — conv 3×3 (p=1), max-pool 2, conv 3×3 (p=1), max-pool 2, conv 3×3 (p=1) —
on a 32×32 input. The highlighted cells are exactly the input positions output $(y_0, y_1)$
depends on (traced backwards through every tap); the dashed box is their bounding box.
"""),
    code(r"""layers = [
    cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, padding=1),
    cp.PoolSpec(kind="max", kernel_size=2),
    cp.ConvSpec(in_channels=8, out_channels=8, kernel_size=3, padding=1),
    cp.PoolSpec(kind="max", kernel_size=2),
    cp.ConvSpec(in_channels=8, out_channels=8, kernel_size=3, padding=1),
]
r, S, P = 1, 1, 0
for spec in layers:
    k_eff, stride, pad = spec.effective_kernel_size[0], spec.stride[0], spec.padding[0][0]
    r, P, S = r + (k_eff - 1) * S, P + pad * S, S * stride
print("r =", r, " S =", S, " P =", P)

for y in [(3, 3), (0, 0)]:
    fig = render.receptive_field_figure(layers, (3, 32, 32), y)
    display(fig)
    lo = [max(0, -P + v * S) for v in y]
    hi = [min(31, -P + v * S + r - 1) for v in y]
    cells = sum(p.get_gid() == "rf-cell" for p in fig.axes[0].patches)
    assert cells == (hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1), (y, cells)
    region = render.receptive_field(layers, (3, 32, 32), y)
    assert [(min(a), max(a)) for a in region] == list(zip(lo, hi))"""),
    md(r"""
Dilation enlarges the receptive field without adding parameters, but the region has holes:
two 3×3 convolutions with dilation 2 span 9 rows ($r = 1 + 4 + 4$), yet only the even rows
and columns are ever read.
"""),
    code(r"""dil = [cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2)] * 2
region = render.receptive_field(dil, (1, 16, 16), (0, 0))
print("rows seen:", region[0])
assert region[0] == (0, 2, 4, 6, 8)                   # r = 1 + 4 + 4 = 9, even offsets only
display(render.receptive_field_figure(dil, (1, 16, 16), (0, 0)))"""),
]

# --------------------------------------------------------------------------------------
# 06 check your backward pass
# --------------------------------------------------------------------------------------

NB06 = [
    md(r"""
# 06 · Check your backward pass

Most hand-written convolution code has a backward pass, and that is where the bugs hide: no
forward check sees them. For $Z = T(W)\,X + b$ and an upstream gradient $G = \partial L/\partial Z$,

$$\frac{\partial L}{\partial X} = T^\top G,\qquad
\frac{\partial L}{\partial W_{c,k,u}} = \sum_{n,a} G_{n,c,a}\, X^{\text{pad}}_{n,k,\,a s + u d},\qquad
\frac{\partial L}{\partial b_c} = \sum_{n,a} G_{n,c,a}.$$

convproof computes all three exactly (`cp.conv_backward`), proves them
(`cp.prove_backward`), and checks yours (`cp.check_conv_backward`) with a shrunk,
readable counterexample.
"""),
    code(SETUP),
    md(r"""
## A hand-written backward pass, with a bug

The textbook loop: every output position scatters `g * weight` into its input window and
gathers `g * window` into the weight gradient. The bug is one character: `=` where `+=`
was meant, so overlapping windows overwrite each other.
"""),
    code(r"""def my_conv_backward(grad_output, x, weight, bias=None, stride=(1, 1), padding=(0, 0),
                     dilation=(1, 1), groups=1, *, bug=True):
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    co, cg, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dtype = np.result_type(grad_output, x, weight)   # object arrays stay exact
    dxp = np.zeros(xp.shape, dtype=dtype)
    dw_ = np.zeros(weight.shape, dtype=dtype)
    per = co // groups
    for n in range(x.shape[0]):
        for o in range(co):
            g = o // per
            for i in range(grad_output.shape[2]):
                for j in range(grad_output.shape[3]):
                    win = (n, slice(g * cg, (g + 1) * cg),
                           slice(i * sh, i * sh + dh * (kh - 1) + 1, dh),
                           slice(j * sw, j * sw + dw * (kw - 1) + 1, dw))
                    gv = grad_output[n, o, i, j]
                    dw_[o] += gv * xp[win]
                    if bug:
                        dxp[win] = gv * weight[o]       # the bug
                    else:
                        dxp[win] += gv * weight[o]
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    db = None if bias is None else grad_output.sum(axis=(0, 2, 3))
    return dx, dw_, db"""),
    md(r"""
## The checker finds it and shrinks it

`cp.check_conv_backward` generates valid problems (every stride, padding, dilation and group
count within the bounds), compares every gradient with convproof's exact one, and shrinks a
failure to the smallest problem that shows it. The counterexample names the wrong entry and
the terms of the definition that feed it:
"""),
    code(r"""bad = cp.check_conv_backward(my_conv_backward, max_examples=200, seed=0)
print(bad)
cx = bad.counterexample
assert not bad and cx.tensor == "grad_input"
assert len(cx.feeds) == 2   # two terms meet at that input cell, and '=' keeps only one"""),
    code(r"""import matplotlib.pyplot as plt

fig = plt.figure(figsize=(7, 2.2))
panels = [("expected grad_input", cx.expected), ("got grad_input", cx.got),
          ("difference", cx.got - cx.expected)]
for k, (title, values) in enumerate(panels):
    ax = fig.add_subplot(1, 3, k + 1)
    ax.imshow(np.asarray(values, dtype=float)[0, 0], cmap="coolwarm", vmin=-3, vmax=3)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
display(fig)
plt.close(fig)"""),
    md(r"""
## Fixed: the check passes, and the gradients are proved

With `+=` the same implementation passes. `cp.prove_backward` goes further for convproof's
own backward: it compares the coefficient tables of $T^\top G$, of the weight gradient and
of the bias gradient with the forward definition, exactly. With `fn=` it proves *your*
function on a small shape by running it on SymPy symbols.
"""),
    code(r'''from functools import partial

fixed = partial(my_conv_backward, bug=False)
good = cp.check_conv_backward(fixed, max_examples=60, seed=0)
print(good)
assert good

spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, groups=1, bias=False)


def as_fn(bug):
    def fn(g, x, w, b):
        return my_conv_backward(g, x, w, b, bug=bug)
    return fn


proof = cp.prove_backward(spec, (1, 2, 3, 3), fn=as_fn(False))
print(proof.status)
assert proof.status == "proved"
refuted = cp.prove_backward(spec, (1, 2, 3, 3), fn=as_fn(True))
print(refuted.counterexample)
assert refuted.status == "refuted"'''),
    md(r"""
## No reference needed: the adjoint identity

For a layer convproof does not model, `cp.adjoint_check` checks
$\langle f(x), g\rangle = \langle x, f^\top(g)\rangle$ exactly with integers (and on every
basis pair when the layer is small, which shows $f^\top$ is the transpose of $f$ if both are
linear: the verdict is "verified", with that assumption stated):
"""),
    code(r"""w = np.array([1.0, 2.0, 3.0])
forward = lambda x: np.correlate(x, w, mode="valid")
print(cp.adjoint_check(forward, lambda g: np.convolve(g, w), (8,)).status)
print(cp.adjoint_check(forward, lambda g: np.correlate(np.pad(g, 2), w), (8,)).status)"""),
]


# --------------------------------------------------------------------------------------
# 07 the operator's spectrum
# --------------------------------------------------------------------------------------

NB07 = [
    md(r"""
# 07 · The operator's spectrum: why `spectral_norm` is not the layer's norm

A conv layer is a linear map $T$; its Lipschitz constant (in the Euclidean norm) is its
largest singular value $\sigma_1(T) = \|T\|_2$. `torch.nn.utils.spectral_norm` divides the
weight by the largest singular value of the **reshaped** weight
$W \in \mathbb{R}^{C_\text{out} \times C_\text{in} k_h k_w}$, which is a different matrix:
every input pixel is read by up to $k_h k_w$ windows, so $\|T\|_2$ is usually larger (and
at most $\sqrt{k_h k_w}\,\|W\|_2$).
"""),
    code(SETUP),
    md(r"""
## The table: certified intervals next to the usual numbers

`cp.operator_norm` returns a certified interval $[\ell, u]$: $\ell$ is the exact Rayleigh
quotient of an explicit integer vector, $u$ a named theorem with its rounding errors
accounted. Small versions of the issue's layers (random He-normal weights):
"""),
    code(r"""from convproof.spectrum import bounds

def row(name, c_in, c_out, k, n, stride=1, seed=0):
    spec = cp.ConvSpec(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride,
                       padding=k // 2, bias=False)
    w = np.random.default_rng(seed).standard_normal(spec.weight_shape)
    w *= np.sqrt(2 / (c_in * k * k))
    r = cp.operator_norm(spec, (c_in, n, n), w, grids=2)
    reshaped = bounds.reshaped_weight_norm(w)
    return name, r, reshaped, np.sqrt(k * k) * reshaped, bounds._araujo(w, spec)

rows = [row("3->16, 7x7, stride 2, 16x16", 3, 16, 7, 16, stride=2),
        row("8->8, 3x3, 12x12", 8, 8, 3, 12),
        row("8->8, 5x5, 12x12", 8, 8, 5, 12)]
lines = ["| layer | reshaped (spectral_norm) | certified lower | certified upper "
         "| true / reshaped | sqrt(hw) bound | Araujo et al. |",
         "|---|---:|---:|---:|---:|---:|---:|"]
for name, r, reshaped, sqrt_hw, araujo in rows:
    assert r and reshaped < r.lower <= r.upper <= sqrt_hw   # spectral_norm undershoots
    lines.append(f"| {name} | {reshaped:.3f} | {r.lower:.4f} | {r.upper:.4f} "
                 f"| {r.lower / reshaped:.2f} | {sqrt_hw:.3f} | {araujo:.2f} |")
display(Markdown("\n".join(lines)))"""),
    md(r"""
A layer "normalised" by `spectral_norm` is therefore not 1-Lipschitz. `cp.check_lipschitz`
finds an input that proves it:
"""),
    code(r"""spec = cp.ConvSpec(in_channels=16, out_channels=16, kernel_size=3, padding=1, bias=False)
w = np.random.default_rng(1).standard_normal(spec.weight_shape)
w_sn = w / bounds.reshaped_weight_norm(w)
res = cp.check_lipschitz(lambda x: cp.conv(spec, x, w_sn), 1.0, (16, 12, 12), seed=0,
                         max_examples=10)
print(res)
assert not res and res.ratio > 1"""),
    md(r"""
## Circular padding: every singular value from the FFT

With circular padding (stride 1) the matrix is block doubly circulant, and the 2-D DFT
turns it into one $C_\text{out}\times C_\text{in}$ matrix per frequency (Sedghi, Gupta &
Long, 2019):
$$M(\theta,\varphi) = \sum_{i,j} W_{:,:,i,j}\, e^{-\mathrm{i}(\theta i + \varphi j)},\qquad
\theta, \varphi \in \tfrac{2\pi}{n}\{0,\dots,n-1\}.$$
The singular values of $T$ are those of all the $M(\theta, \varphi)$. With a stride, the
input splits into polyphase components and $M$ gains one column block per phase. Checked
against the dense SVD of `conv_matrix`:
"""),
    code(r"""for stride in (1, 2):
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, stride=stride, padding=1,
                       padding_mode="circular", bias=False)
    w = np.random.default_rng(2).standard_normal(spec.weight_shape)
    fast = cp.singular_values(spec, (2, 8, 8), w)
    dense = np.linalg.svd(cp.conv_matrix(spec, (2, 8, 8), w).toarray(), compute_uv=False)
    assert np.allclose(fast, dense)
    print(f"stride {stride}: {fast.size} singular values, largest {fast[0]:.4f}, agree")"""),
    md(r"""
## Closed forms for a one-channel kernel

With one input and one output channel, $M(\theta,\varphi)$ is a number: the kernel's
trigonometric polynomial, and the singular values are its moduli on the grid. For the
discrete Laplacian it simplifies to $4\sin^2\frac{\theta}{2} + 4\sin^2\frac{\varphi}{2}$:
"""),
    code(r"""theta, phi = sympy.symbols("theta phi", real=True)
K = sympy.Matrix(3, 3, lambda i, j: sympy.Symbol(f"w_{i}{j}"))
symbol = sum(K[i, j] * sympy.exp(-sympy.I * (theta * i + phi * j))
             for i in range(3) for j in range(3))
display(Math("\\lambda(\\theta, \\varphi) = " + sympy.latex(symbol)))
lap = {K[i, j]: v for (i, j), v in np.ndenumerate(np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]))}
closed = 4 * sympy.sin(theta / 2) ** 2 + 4 * sympy.sin(phi / 2) ** 2
# padding 1 centres the kernel: a unimodular factor exp(i(theta + phi)), same modulus
centred = sympy.expand_complex(sympy.expand(symbol.subs(lap) * sympy.exp(sympy.I * (theta + phi))))
assert sympy.simplify(centred + closed) == 0                 # centred symbol = -closed form
display(Math("|\\lambda_\\text{Laplacian}| = " + sympy.latex(closed)))

n = 6
grid = [2 * sympy.pi * a / n for a in range(n)]
expected = sorted((float(closed.subs({theta: a, phi: b})) for a in grid for b in grid),
                  reverse=True)
spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
                   padding_mode="circular", bias=False)
got = cp.singular_values(spec, (1, n, n), np.array([[[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]]]))
assert np.allclose(got, expected)
print("largest:", got[0], "= 8 at theta = phi = pi")"""),
    md(r"""
With stride 2 (one axis shown), the two polyphase taps give the $1\times 2$ matrix
$[\lambda_0(\theta), \lambda_1(\theta)]$ and the singular value
$\sqrt{|\lambda_0|^2 + |\lambda_1|^2}$: for the kernel $[a, b, c]$ with padding 1 the
tap offsets are $-1, 0, 1$; phase 0 holds $b$ (shift 0), phase 1 holds $a$ (shift $-1$)
and $c$ (shift 0), so $\lambda_0 = b$ and $\lambda_1(t) = a e^{\mathrm{i}t} + c$.
"""),
    code(r"""a, b, c = sympy.symbols("a b c", real=True)
t = sympy.symbols("t", real=True)
lam0 = b                                      # phase 0: the tap at offset 0
lam1 = a * sympy.exp(sympy.I * t) + c         # phase 1: offsets -1 (shift -1) and +1 (shift 0)
sv = sympy.sqrt(lam0**2 + sympy.expand(sympy.expand_complex(lam1 * sympy.conjugate(lam1))))
display(Math("\\sigma(t) = " + sympy.latex(sympy.simplify(sv))))
vals = {a: 1.0, b: -2.0, c: 0.5}
n = 8
spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1,
                   padding_mode="circular", bias=False, ndim=1)
got = cp.singular_values(spec, (1, n), np.array([[[1.0, -2.0, 0.5]]]))
expected = sorted((float(sv.subs(vals).subs(t, 2 * np.pi * f / (n // 2))) for f in range(n // 2)),
                  reverse=True)
assert np.allclose(got, expected)
print(np.round(got, 6))"""),
    md(r"""
## Where the top singular values sit

Sorted singular values of one layer with circular padding (all of them, FFT) and with zero
padding (the top 40, ARPACK on the matrix-free operator): zero padding is a compression of a
circulant on a larger grid, so its norm is at most that circulant's.
"""),
    code(r"""import matplotlib.pyplot as plt

spec_c = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1,
                     padding_mode="circular", bias=False)
spec_z = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1, bias=False)
w = np.random.default_rng(3).standard_normal(spec_c.weight_shape)
circ = cp.singular_values(spec_c, (4, 12, 12), w)
zero = cp.singular_values(spec_z, (4, 12, 12), w, k=40)
fig = plt.figure(figsize=(6, 3))
ax = fig.add_subplot()
ax.plot(circ, label="circular (all, FFT)")
ax.plot(zero, "o", markersize=3, label="zeros (top 40, ARPACK)")
ax.set_xlabel("index"), ax.set_ylabel("singular value"), ax.legend()
display(fig)
plt.close(fig)
r = cp.operator_norm(spec_z, (4, 12, 12), w)
assert r.lower <= zero[0] <= r.upper
print(r)"""),
]


NOTEBOOKS = {
    "01-channels-and-feature-maps": NB01,
    "02-output-size": NB02,
    "03-conv-as-matrix": NB03,
    "04-property-testing-your-conv": NB04,
    "05-receptive-fields": NB05,
    "06-check-your-backward-pass": NB06,
    "07-operator-spectrum": NB07,
}


def build() -> list[Path]:
    """Write every notebook (no outputs) and return their paths."""
    paths = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        for number, cell in enumerate(nb.cells):  # stable ids: rebuilding gives no diff
            cell["id"] = f"{name[:2]}-{number:02d}"
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        path = HERE / f"{name}.ipynb"
        nbformat.validate(nb)
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build():
        print(p.relative_to(HERE.parent))
