import Kernels
import Testing
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// The elementwise ops (specialized, vectorized loops) against their naive twins: simple scalar loops
/// over `scalars` with the textbook formulas.
@Suite struct ElementwiseTests {
    var rng = SeededGenerator(seed: 21)

    /// Rounding ties, signed zeros, clamp bounds, magnitudes around 2^23 and overflow, then random values.
    static let specials: [Float] = [0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 6, -1, 1,
                                    4194303.5, 8388607.5, -8388607.5, 8388608, 8388609, -8388609, 1e30, -1e30, 0.3]

    /// A `[2, 16, 5, 3]` input (480 scalars, not a multiple of any vector width per plane) starting with `specials`.
    mutating func input() -> Tensor {
        var v = Tensor.randomNormal([2 * 16 * 5 * 3], std: 3, using: &rng).scalars
        v.replaceSubrange(0..<Self.specials.count, with: Self.specials)
        return Tensor(shape: [2, 16, 5, 3], scalars: v)
    }

    /// Equal, or both NaN.
    static func same(_ a: [Float], _ b: [Float], tolerance: Float = 0) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x == y || (x.isNaN && y.isNaN) || Swift.abs(x - y) <= tolerance * Swift.max(1, Swift.abs(y))
        }
    }

    typealias UnaryCase = (name: String, op: (Tensor) -> Tensor, f: (Float) -> Float, df: (Float, Float) -> Float)

    static var unaryCases: [UnaryCase] { [
        ("negate", { -$0 }, { -$0 }, { _, _ in -1 }),
        ("+ s", { $0 + 1.25 }, { $0 + 1.25 }, { _, _ in 1 }),
        ("- s", { $0 - 1.25 }, { $0 - 1.25 }, { _, _ in 1 }),
        ("* s", { $0 * 1.5 }, { $0 * 1.5 }, { _, _ in 1.5 }),
        ("/ s", { $0 / 4 }, { $0 * 0.25 }, { _, _ in 0.25 }),
        ("s -", { 2 - $0 }, { 2 - $0 }, { _, _ in -1 }),
        ("s /", { 2 / $0 }, { 2 / $0 }, { _, y in -y * y / 2 }),
        ("exp", { $0.exp() }, { expf($0) }, { _, y in y }),
        ("log", { $0.abs().log() }, { logf(Swift.abs($0)) }, { x, _ in x == 0 ? 0 : 1 / x }),
        ("sqrt", { $0.abs().sqrt() }, { Swift.abs($0).squareRoot() }, { x, y in x == 0 ? 0 : (x > 0 ? 0.5 / y : -0.5 / y) }),
        ("squared", { $0.squared() }, { $0 * $0 }, { x, _ in 2 * x }),
        ("abs", { $0.abs() }, { Swift.abs($0) }, { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }),
        ("pow", { $0.abs().pow(1.5) }, { powf(Swift.abs($0), 1.5) }, { x, _ in x == 0 ? 0 : (x > 0 ? 1 : -1) * 1.5 * powf(Swift.abs(x), 0.5) }),
        ("relu", { $0.relu() }, { $0 > 0 ? $0 : 0 }, { x, _ in x > 0 ? 1 : 0 }),
        ("relu6", { $0.relu6() }, { Swift.min(Swift.max($0, 0), 6) }, { x, _ in x > 0 && x < 6 ? 1 : 0 }),
        ("leakyRelu", { $0.leakyRelu(slope: 0.2) }, { $0 > 0 ? $0 : 0.2 * $0 }, { x, _ in x > 0 ? 1 : 0.2 }),
        ("tanh", { $0.tanh() }, { tanhf($0) }, { _, y in 1 - y * y }),
        ("sigmoid", { $0.sigmoid() }, { 1 / (1 + expf(-$0)) }, { _, y in y * (1 - y) }),
        ("clamped", { $0.clamped(-1, 1) }, { Swift.min(Swift.max($0, -1), 1) }, { x, _ in x >= -1 && x <= 1 ? 1 : 0 }),
        ("rounded", { $0.rounded() }, { $0.rounded(.toNearestOrEven) }, { _, _ in 0 }),
        ("roundedSTE", { $0.roundedSTE() }, { $0.rounded(.toNearestOrEven) }, { _, _ in 1 }),
        ("floored", { $0.floored() }, { $0.rounded(.down) }, { _, _ in 0 }),
        ("flooredSTE", { $0.flooredSTE() }, { $0.rounded(.down) }, { _, _ in 1 }),
    ] }

    @Test mutating func unaryOpsAndGradientsMatchSimpleLoops() {
        let x = input(), probe = Tensor.randomNormal(x.shape, using: &rng)
        let xs = x.scalars, ps = probe.scalars
        for layout in bothLayouts {
            let xl = x.converted(to: layout).requiringGradient()
            for c in Self.unaryCases {
                let y = c.op(xl)
                let expected = xs.map(c.f)
                #expect(y.layout == layout && Self.same(y.scalars, expected), "\(c.name) \(layout)")
                // The composite cases (log, sqrt, pow of abs) chain two pullbacks: round-off differs slightly.
                let dx = gradients(of: (y * probe).sum(), wrt: [xl])[0]
                let naive = xs.indices.map { ps[$0] * c.df(xs[$0], expected[$0]) }
                #expect(Self.same(dx.scalars, naive, tolerance: 1e-6), "\(c.name) gradient \(layout)")
            }
        }
    }

    typealias BinaryCase = (name: String, op: (Tensor, Tensor) -> Tensor, f: (Float, Float) -> Float)

    static var binaryCases: [BinaryCase] { [("+", +, +), ("-", -, -), ("*", *, *), ("/", /, /)] }

    @Test mutating func binaryOpsMatchSimpleLoopsForEveryBroadcast() {
        let a = input(), b = Tensor.randomUniform(a.shape, lower: 0.5, upper: 2, using: &rng)
        let v = Tensor.randomUniform([1, 16, 1, 1], lower: 0.5, upper: 2, using: &rng), s = Tensor(shape: [1], scalars: [1.75])
        let (av, bv, vv) = (a.scalars, b.scalars, v.scalars)
        let channel = { (i: Int) in (i / 15) % 16 }
        for layout in bothLayouts {
            let al = a.converted(to: layout), bl = b.converted(to: layout)
            for c in Self.binaryCases {
                #expect(Self.same(c.op(al, bl).scalars, av.indices.map { c.f(av[$0], bv[$0]) }), "\(c.name) same shape \(layout)")
                #expect(Self.same(c.op(al, b).scalars, av.indices.map { c.f(av[$0], bv[$0]) }), "\(c.name) mixed layouts \(layout)")
                #expect(Self.same(c.op(al, s).scalars, av.map { c.f($0, 1.75) }), "\(c.name) scalar right \(layout)")
                #expect(Self.same(c.op(s, al).scalars, av.map { c.f(1.75, $0) }), "\(c.name) scalar left \(layout)")
                #expect(Self.same(c.op(al, v).scalars, av.indices.map { c.f(av[$0], vv[channel($0)]) }), "\(c.name) channel right \(layout)")
                #expect(Self.same(c.op(v, al).scalars, av.indices.map { c.f(vv[channel($0)], av[$0]) }), "\(c.name) channel left \(layout)")
            }
        }
    }

    @Test mutating func binaryGradientsMatchSimpleLoops() {
        let a = Tensor.randomNormal([2, 16, 5, 3], using: &rng), b = Tensor.randomUniform(a.shape, lower: 0.5, upper: 2, using: &rng)
        let g = Tensor.randomNormal(a.shape, using: &rng)
        let (av, bv, gv) = (a.scalars, b.scalars, g.scalars)
        for layout in bothLayouts {
            let al = a.converted(to: layout).requiringGradient(), bl = b.converted(to: layout).requiringGradient()
            let naive: [(String, (Tensor, Tensor) -> Tensor, [Float], [Float])] = [
                ("+", +, gv, gv),
                ("-", -, gv, gv.map { -$0 }),
                ("*", *, av.indices.map { gv[$0] * bv[$0] }, av.indices.map { gv[$0] * av[$0] }),
                ("/", /, av.indices.map { gv[$0] / bv[$0] }, av.indices.map { -(gv[$0] * av[$0]) / (bv[$0] * bv[$0]) }),
            ]
            for (name, op, da, db) in naive {
                let d = gradients(of: (op(al, bl) * g).sum(), wrt: [al, bl])
                #expect(Self.same(d[0].scalars, da, tolerance: 1e-6) && Self.same(d[1].scalars, db, tolerance: 1e-6), "\(name) \(layout)")
            }
        }
    }

    @Test mutating func broadcastFactorsAndTheirGradientsMatchSimpleLoops() {
        let a = Tensor.randomNormal([2, 16, 5, 3], using: &rng), g = Tensor.randomNormal(a.shape, using: &rng)
        let (av, gv) = (a.scalars, g.scalars)
        // Factor shapes with the factor index of logical element i.
        let factors: [([Int], (Int) -> Int)] = [([], { _ in 0 }), ([1], { _ in 0 }), ([1, 16, 1, 1], { ($0 / 15) % 16 }),
                                                ([16, 1, 1], { ($0 / 15) % 16 }), ([2, 1, 1, 1], { $0 / 240 })]
        for (shape, index) in factors {
            let v = Tensor.randomUniform(shape, lower: 0.5, upper: 2, using: &rng), vv = v.scalars
            for layout in bothLayouts {
                let al = a.converted(to: layout).requiringGradient(), vl = v.requiringGradient()
                let cases: [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Float, (Float, Float, Float) -> Float)] = [
                    ("*", *, *, { g, a, _ in g * a }), ("/", /, /, { g, a, v in -g * a / (v * v) }),
                    ("+", +, +, { g, _, _ in g }), ("-", -, -, { g, _, _ in -g }),
                ]
                for (name, op, f, df) in cases {
                    let y = op(al, vl)
                    #expect(Self.same(y.scalars, av.indices.map { f(av[$0], vv[index($0)]) }), "\(name) \(shape) \(layout)")
                    let d = gradients(of: (y * g).sum(), wrt: [vl])[0]
                    var naive = [Double](repeating: 0, count: vv.count)
                    for i in av.indices { naive[index(i)] += Double(df(gv[i], av[i], vv[index(i)])) }
                    #expect(d.shape == shape && Self.same(d.scalars, naive.map { Float($0) }, tolerance: 1e-5),
                            "\(name) gradient \(shape) \(layout)")
                }
            }
            #expect(v.broadcast(to: a.shape).scalars == av.indices.map { vv[index($0)] }, "broadcast \(shape)")
        }
    }

    @Test mutating func selectAndItsGradientMatchSimpleLoops() {
        let a = input(), b = Tensor.randomNormal(a.shape, using: &rng), g = Tensor.randomNormal(a.shape, using: &rng)
        let mask = Tensor.bernoulli(a.shape, probability: 0.5, using: &rng)
        let (av, bv, gv, mv) = (a.scalars, b.scalars, g.scalars, mask.scalars)
        for layout in bothLayouts {
            let al = a.converted(to: layout).requiringGradient(), bl = b.requiringGradient()
            let y = Tensor.select(mask, al, bl)
            #expect(y.layout == layout && Self.same(y.scalars, av.indices.map { mv[$0] != 0 ? av[$0] : bv[$0] }))
            let d = gradients(of: (y * g).sum(), wrt: [al, bl])
            #expect(d[0].scalars == gv.indices.map { mv[$0] != 0 ? gv[$0] : 0 })
            #expect(d[1].scalars == gv.indices.map { mv[$0] != 0 ? 0 : gv[$0] })
        }
    }

    /// `x * 2 - y`, a test function for the kernel-level loops.
    struct TwiceMinus: BinaryFunction {
        func callAsFunction(_ x: Float, _ y: Float) -> Float { x * 2 - y }
    }

    @Test mutating func channelZipMatchesSimpleLoopForEveryBlockWidth() {
        let (n, c, sp) = (3, 32, 7)
        let x = Tensor.randomNormal([n * c * sp], using: &rng).scalars, v = Tensor.randomNormal([c], using: &rng)
        let naive = x.indices.map { TwiceMinus()(x[$0], v.scalars[($0 / sp) % c]) }
        for inner in [1, 8, 16] {
            let xb = Tensor(shape: [x.count], scalars: blockedScalars(x, batch: n, channels: c, spatial: sp, inner: inner))
            let out = Tensor(uninitializedShape: [x.count])
            Loops.channelZip(xb.buffer, v.buffer, out.buffer, batch: n, channels: c, spatial: sp, inner: inner, TwiceMinus())
            #expect(plainScalars(out.scalars, batch: n, channels: c, spatial: sp, inner: inner) == naive, "inner \(inner)")
        }
    }

    @Test mutating func sumsMatchDoubleLoops() {
        for count in [0, 1, 15, 4097, 100_003] {
            let x = Tensor.randomNormal([count], mean: 0.5, using: &rng)
            let naive = x.scalars.reduce(0.0) { $0 + Double($1) }
            #expect(Swift.abs(Double(x.sum().item) - naive) <= 1e-6 * Swift.max(1, Swift.abs(naive)), "count \(count)")
        }
        let x = Tensor.randomNormal([3, 16, 5, 7], using: &rng), xs = x.scalars
        var naive = [Float](repeating: 0, count: 16)
        for n in 0..<3 {
            for c in 0..<16 {
                for p in 0..<35 { naive[c] += xs[(n * 16 + c) * 35 + p] }
            }
        }
        for layout in bothLayouts {
            #expect(Self.same(x.converted(to: layout).channelSums().scalars, naive, tolerance: 1e-5), "\(layout)")
        }
    }
}
