/// The reconstruction loss of one unit at the start and at the end of its reconstruction: the mean of the
/// reconstruction loss (the unit's output MSE against the full-precision model, summed over channels) over the
/// first and over the last `window` iterations, `window = min(32, ⌈iterations / 4⌉)`; 32 iterations draw every
/// calibration image once.
public struct UnitLoss: Codable, Sendable, Equatable {
    public var unit: String
    public var before: Float
    public var after: Float
    public var window: Int
    /// The unit's wall time in seconds, from collecting its data to freezing it; nil in checkpoints written before
    /// genie recorded it.
    public var seconds: Double?
}

/// Collects `UnitLoss` records from GENIE-M's progress, unit after unit; `quantizeModel` keeps them in its
/// checkpoint so that a resumed run reports the units finished before it.
public final class ReconstructionLog {
    /// The finished units' losses, in reconstruction order.
    public internal(set) var units: [UnitLoss] = []
    private var first: [Float] = [], last: [Float] = []

    public init() {}

    /// Takes one iteration's reconstruction loss.
    func record(_ p: UnitProgress) {
        if p.iteration == 1 { first = []; last = [] }
        let window = Self.window(p.iterations)
        if first.count < window { first.append(p.reconstructionLoss) }
        if p.iteration > p.iterations - window { last.append(p.reconstructionLoss) }
    }

    /// Closes the unit at `path` (after its last iteration), which took `seconds`; does nothing when no iteration
    /// was recorded (rtn).
    func finish(_ path: String, seconds: Double) {
        guard !first.isEmpty, !last.isEmpty else { return }
        let mean = { (v: [Float]) in v.reduce(0, +) / Float(v.count) }
        units.append(UnitLoss(unit: path, before: mean(first), after: mean(last), window: first.count, seconds: seconds))
        first = []; last = []
    }

    static func window(_ iterations: Int) -> Int { min(32, (iterations + 3) / 4) }
}
