import NN
import Testing
import Tensors

@Suite struct OptimizerTests {
    func trajectory(_ make: (Parameter) -> Optimizer) throws -> [Tensor] {
        let f = try fixture("optim.safetensors")
        let p = Parameter(f["p0"]!)
        let opt = make(p)
        return (0..<4).map { k in
            opt.step([f["g\(k)"]!])
            return p.value
        }
    }

    @Test(arguments: ["sgd_plain", "sgd_momentum", "sgd_nesterov", "adam", "adam_wd"])
    func stepsMatchPyTorch(name: String) throws {
        let f = try fixture("optim.safetensors")
        let steps = try trajectory { p in
            switch name {
            case "sgd_plain": return SGD([p], learningRate: 0.1)
            case "sgd_momentum": return SGD([p], learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)
            case "sgd_nesterov": return SGD([p], learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
            case "adam": return Adam([p], learningRate: 0.01)
            default: return Adam([p], learningRate: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1)
            }
        }
        for (k, value) in steps.enumerated() {
            #expect(maxAbsDifference(value, f["\(name).step\(k)"]!) < 1e-6, "\(name) step \(k)")
        }
    }

    @Test func schedulesMatchPyTorch() throws {
        let f = try fixture("optim.safetensors")
        let p = Parameter(Tensor.zeros([1]))
        var cosine = CosineSchedule(SGD([p], learningRate: 0.5), totalSteps: 10)
        let cosineLRs = (0..<10).map { _ in cosine.step(); return cosine.optimizer.groups[0].learningRate }
        #expect(maxAbsDifference(Tensor(shape: [10], scalars: cosineLRs), f["cosine.lr"]!) < 1e-6)

        let exponential = ExponentialSchedule(SGD([p], learningRate: 0.1), gamma: 0.95)
        let expLRs = (0..<5).map { _ in exponential.step(); return exponential.optimizer.groups[0].learningRate }
        #expect(maxAbsDifference(Tensor(shape: [5], scalars: expLRs), f["exponential.lr"]!) < 1e-7)

        var plateau = PlateauSchedule(Adam([p], learningRate: 0.1), factor: 0.1, patience: 3, minimum: 1e-4)
        let plateauLRs = f["plateau.losses"]!.scalars.map { loss in
            plateau.step(metric: loss)
            return plateau.optimizer.groups[0].learningRate
        }
        #expect(maxAbsDifference(Tensor(shape: [plateauLRs.count], scalars: plateauLRs), f["plateau.lr"]!) < 1e-7)
    }

    /// After the first step (which makes the state), Adam and SGD with momentum write a parameter nothing else holds, and
    /// its state, into their own storage; the trajectories above, which keep every step's value, check the copy on write.
    @Test(arguments: ["adam", "sgd"])
    func stepsUpdateAParameterNothingElseHoldsInPlace(name: String) throws {
        let f = try fixture("optim.safetensors")
        let p = Parameter(Tensor(shape: f["p0"]!.shape, scalars: f["p0"]!.scalars))  // a copy the fixture does not hold
        let opt: Optimizer = name == "adam" ? Adam([p], learningRate: 0.01) : SGD([p], learningRate: 0.1, momentum: 0.9)
        opt.step([f["g0"]!])
        let storage = ObjectIdentifier(p.value.buffer), state = opt.stateDict().filter { $0.key != "step" }.mapValues { ObjectIdentifier($0.buffer) }
        for k in 1..<4 { opt.step([f["g\(k)"]!]) }
        #expect(ObjectIdentifier(p.value.buffer) == storage)
        #expect(opt.stateDict().filter { $0.key != "step" }.mapValues { ObjectIdentifier($0.buffer) } == state && state.count == (name == "adam" ? 2 : 1))
    }
}
