// The one piece of `Tensors` that SafeTensors.swift needs, so the parser builds without the engine.
public struct Tensor {
    public let shape: [Int]
    public let scalars: [Float]
    public init(shape: [Int], scalars: [Float]) {
        self.shape = shape
        self.scalars = scalars
    }
}
