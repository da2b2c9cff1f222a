"""Register-blocked SIMD micro-kernels of the direct convolution (``_conv_direct``), in LLVM IR.

numba cannot be asked to keep a block of accumulators in vector registers: its
loops over arrays of accumulators spill them to memory (measured: 28 GFLOP/s
per core for a 3D convolution, against ~50 for OpenBLAS on the same
im2col'ed problem). These two kernels are written as numba intrinsics in LLVM
IR with explicit vector types, so the accumulators are SSA values that live in
registers, and the compiled drivers call them per tile:

``fwd_tile``  y[i, vector j] = b[i] + sum_k w[k, i] * x[vx[j] + off[k] : ... + L]  (R x V vectors)
``dw_tile<R>`` acc[j, :R*L] += sum_p g[p, :R*L] * x[off[j] + p]             (J offsets x R vectors)

The weight-gradient tile reads the output gradient transposed (position-major, the
channels contiguous), so the sum over positions runs in the registers and needs no
horizontal reduction.

``L`` is the vector width in lanes of the element type: 512-bit vectors where the
CPU has AVX-512, else 256-bit (AVX2) or 128-bit. ``R``, ``V`` and ``J`` are chosen so the
accumulators plus operands fit the register file (32 vector registers with AVX-512,
16 otherwise). Each output element is summed in kernel-offset order, so results
never depend on the thread count or the tiling of the positions.
"""
from __future__ import annotations

import os

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["BLOCKS", "CACHE", "VECTOR_BITS", "copy_vectors", "DW_J", "DW_KPAD", "fwd_tile", "dw_tile1", "dw_tile2", "dw_tile3", "dw_tile4", "lanes"]


def _vector_bits() -> int:
    """Vector width numba compiles for: 512 with AVX-512, 256 with AVX/AVX2, else 128.

    ``AUTOGRAD_SIMD_BITS`` (128, 256 or 512) overrides it, for tests of the other tiles;
    the compiled drivers are then not cached on disk (their tiles differ from the host's)."""
    import numba
    from llvmlite import binding

    if _OVERRIDE in ("128", "256", "512"):
        return int(_OVERRIDE)
    if getattr(numba.config, "CPU_NAME", None) not in (None, "host"):  # a portable target was asked for
        return 128
    feats = binding.get_host_cpu_features()
    if feats.get("avx512f"):
        return 512
    return 256 if feats.get("avx2") or feats.get("avx") else 128


_OVERRIDE = os.environ.get("AUTOGRAD_SIMD_BITS")
VECTOR_BITS = _vector_bits()
CACHE = _OVERRIDE is None  # njit(cache=...) of the drivers that inline these tiles
# forward tile: R output channels x V vectors of positions, per register file
BLOCKS = ((8, 3),) if VECTOR_BITS == 512 else ((4, 3),)


def lanes(itemsize: int) -> int:
    """Elements per vector register for an element of ``itemsize`` bytes."""
    return VECTOR_BITS // (8 * itemsize)


def _types(context, arr):
    ft = context.get_data_type(arr.dtype)
    L = lanes(arr.dtype.bitwidth // 8)
    vt = ir.VectorType(ft, L)
    mod_fma = f"llvm.fma.v{L}{'f32' if arr.dtype.bitwidth == 32 else 'f64'}"
    return ft, vt, L, mod_fma


def _fma(builder, name, vt):
    mod = builder.module
    fn = mod.globals.get(name)
    return fn if fn is not None else ir.Function(mod, ir.FunctionType(vt, [vt, vt, vt]), name=name)


def _vload(builder, ptr, idx, vt, i64):
    return builder.load(builder.bitcast(builder.gep(ptr, [ir.Constant(i64, idx)]), vt.as_pointer()), align=1)


def _vstore(builder, val, ptr, idx, vt, i64):
    builder.store(val, builder.bitcast(builder.gep(ptr, [ir.Constant(i64, idx)]), vt.as_pointer()), align=1)


def _splat(builder, s, vt, L):
    i32 = ir.IntType(32)
    undef = ir.Constant(vt, ir.Undefined)
    return builder.shuffle_vector(builder.insert_element(undef, s, ir.Constant(i32, 0)), undef,
                                  ir.Constant(ir.VectorType(i32, L), [0] * L))


def _acc_loop(builder, n, init, body, name):
    """``for k in range(n): accs = body(k, accs)`` with the accumulators as SSA values (so in
    registers); returns their final values (``init`` when n <= 0)."""
    i64 = ir.IntType(64)
    pre = builder.block
    loop, done = builder.append_basic_block(name + "_loop"), builder.append_basic_block(name + "_done")
    builder.cbranch(builder.icmp_signed(">", n, ir.Constant(i64, 0)), loop, done)
    builder.position_at_end(loop)
    k = builder.phi(i64)
    k.add_incoming(ir.Constant(i64, 0), pre)
    accs = []
    for a in init:
        ph = builder.phi(a.type)
        ph.add_incoming(a, pre)
        accs.append(ph)
    new = body(k, accs)
    k1 = builder.add(k, ir.Constant(i64, 1))
    k.add_incoming(k1, loop)
    for ph, nv in zip(accs, new):
        ph.add_incoming(nv, loop)
    last = builder.block
    builder.cbranch(builder.icmp_signed("<", k1, n), loop, done)
    builder.position_at_end(done)
    fin = []
    for a, nv in zip(init, new):  # every phi first: LLVM wants them at the top of the block
        ph = builder.phi(a.type)
        ph.add_incoming(a, pre)
        ph.add_incoming(nv, last)
        fin.append(ph)
    return fin


@intrinsic
def fwd_tile(typingctx, arr, xa, vx, wa, oa, nk, vy, vs, ba):
    """``fwd_tile(like, x, vx, w, off, nk, vy, vs, bias)`` (addresses as integers; ``like``
    gives the dtype): R output channels of V vectors of L positions each.

    Vector j reads x[vx[j] + off[k] : ... + L] for every kernel offset k (vx, off: int64
    element offsets into x) with weights w (nk, R), and writes channel i at address
    ``vy[j] + i * vs[j] * itemsize``. Accumulators start at ``bias`` (R values)."""
    R, V = BLOCKS[0]
    sig = types.void(arr, types.intp, types.intp, types.intp, types.intp, types.intp, types.intp,
                     types.intp, types.intp)

    def codegen(context, builder, signature, args):
        _, xa, vxa, wa, oa, nk, vya, vsa, ba = args
        ft, vt, L, fname = _types(context, signature.args[0])
        i64 = ir.IntType(64)
        ip = i64.as_pointer()
        fma = _fma(builder, fname, vt)
        xp, wp = builder.inttoptr(xa, ft.as_pointer()), builder.inttoptr(wa, ft.as_pointer())
        op, bp = builder.inttoptr(oa, ip), builder.inttoptr(ba, ft.as_pointer())
        vxp, vyp, vsp = builder.inttoptr(vxa, ip), builder.inttoptr(vya, ip), builder.inttoptr(vsa, ip)
        xbase = [builder.gep(xp, [builder.load(builder.gep(vxp, [ir.Constant(i64, j)]))]) for j in range(V)]
        init = [_splat(builder, builder.load(builder.gep(bp, [ir.Constant(i64, i)])), vt, L) for i in range(R)]

        def body(k, accs):
            off = builder.load(builder.gep(op, [k]))
            xs = [builder.load(builder.bitcast(builder.gep(xb, [off]), vt.as_pointer()), align=1) for xb in xbase]
            wrow = builder.gep(wp, [builder.mul(k, ir.Constant(i64, R))])
            new = []
            for i in range(R):
                b = _splat(builder, builder.load(builder.gep(wrow, [ir.Constant(i64, i)])), vt, L)
                new.extend(builder.call(fma, [b, xs[j], accs[i * V + j]]) for j in range(V))
            return new
        fin = _acc_loop(builder, nk, [init[t // V] for t in range(R * V)], body, "fwd")
        for j in range(V):
            yb = builder.inttoptr(builder.load(builder.gep(vyp, [ir.Constant(i64, j)])), ft.as_pointer())
            ys = builder.load(builder.gep(vsp, [ir.Constant(i64, j)]))
            for i in range(R):
                _vstore(builder, fin[i * V + j], builder.gep(yb, [builder.mul(ys, ir.Constant(i64, i))]), 0, vt, i64)
        return context.get_dummy_value()

    return sig, codegen


def _dw_tile(R, J):
    """The weight-gradient tile with R vectors of output channels and J kernel offsets."""
    @intrinsic
    def dw_tile(typingctx, arr, ga, gs, xa, oa, n, aa, as_):
        sig = types.void(arr, types.intp, types.intp, types.intp, types.intp, types.intp, types.intp,
                         types.intp)

        def codegen(context, builder, signature, args):
            _, ga, gs, xa, oa, n, aa, as_ = args
            ft, vt, L, fname = _types(context, signature.args[0])
            i64 = ir.IntType(64)
            fma = _fma(builder, fname, vt)
            gp, xp = builder.inttoptr(ga, ft.as_pointer()), builder.inttoptr(xa, ft.as_pointer())
            op, ap = builder.inttoptr(oa, i64.as_pointer()), builder.inttoptr(aa, ft.as_pointer())
            xrows = [builder.gep(xp, [builder.load(builder.gep(op, [ir.Constant(i64, j)]))]) for j in range(J)]
            zero = ir.Constant(vt, [0.0] * L)

            def body(p, accs):
                grow = builder.gep(gp, [builder.mul(p, gs)])
                gv = [_vload(builder, grow, r * L, vt, i64) for r in range(R)]
                new = []
                for j in range(J):
                    b = _splat(builder, builder.load(builder.gep(xrows[j], [p])), vt, L)
                    new.extend(builder.call(fma, [b, gv[r], accs[j * R + r]]) for r in range(R))
                return new
            fin = _acc_loop(builder, n, [zero] * (R * J), body, "dw")
            for j in range(J):
                row = builder.gep(ap, [builder.mul(as_, ir.Constant(i64, j))])
                for r in range(R):
                    old = _vload(builder, row, r * L, vt, i64)
                    _vstore(builder, builder.fadd(old, fin[j * R + r]), row, r * L, vt, i64)
            return context.get_dummy_value()

        return sig, codegen
    return dw_tile


# weight-gradient tiles by vectors of output channels: (1..4 vectors) x J offsets
DW_J = {1: 12, 2: 12, 3: 8, 4: 6} if VECTOR_BITS == 512 else {1: 12, 2: 6, 3: 4, 4: 3}
DW_KPAD = 24 if VECTOR_BITS == 512 else 12  # offsets are padded to a multiple of every J
dw_tile1, dw_tile2, dw_tile3, dw_tile4 = (_dw_tile(r, DW_J[r]) for r in (1, 2, 3, 4))


@intrinsic
def copy_vectors(typingctx, arr, da, sa, nv):
    """``copy_vectors(like, dst, src, nv)``: dst[:nv*L] = src[:nv*L] (addresses as integers),
    whole vectors (numba's own loop is not vectorized: index wrap-around checks)."""
    sig = types.void(arr, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        _, da, sa, nv = args
        ft, vt, L, _ = _types(context, signature.args[0])
        i64 = ir.IntType(64)
        dp, sp = builder.inttoptr(da, ft.as_pointer()), builder.inttoptr(sa, ft.as_pointer())

        def body(v, accs):
            pos = builder.mul(v, ir.Constant(i64, L))
            val = builder.load(builder.bitcast(builder.gep(sp, [pos]), vt.as_pointer()), align=1)
            builder.store(val, builder.bitcast(builder.gep(dp, [pos]), vt.as_pointer()), align=1)
            return []
        _acc_loop(builder, nv, [], body, "cp")
        return context.get_dummy_value()

    return sig, codegen
