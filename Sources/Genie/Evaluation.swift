import Data
import NN
import Tensors

/// Top-1 (and top-5 where there are more than 5 classes) accuracy in percent.
public struct Accuracy: Sendable, Equatable {
    public var top1: Double
    public var top5: Double?
    public var count: Int
}

/// Whether each row of `logits` [N, K] has its label among its `k` largest entries.
func topKHits(_ logits: Tensor, labels: [Int], k: Int) -> Int {
    let classes = logits.shape[1], values = logits.scalars
    var hits = 0
    for (row, label) in labels.enumerated() {
        let base = row * classes, target = values[base + label]
        // Rank as PyTorch's argmax orders ties: higher scores, and equal scores at lower indices, come first.
        var above = 0
        for c in 0..<classes where values[base + c] > target || (values[base + c] == target && c < label) { above += 1 }
        if above < k { hits += 1 }
    }
    return hits
}

/// Evaluates `model` in eval mode on `dataset` (pixels in [0, 1], normalized here), in batches; `logits` sees
/// each batch's logits in order.
public func evaluate(_ model: Module, on dataset: Dataset, normalization: Normalization, batchSize: Int = 500,
                     quiet: Bool = false, logits observe: ((Tensor) -> Void)? = nil) throws -> Accuracy {
    let sampler = try BatchSampler(dataset, batchSize: batchSize, normalization: normalization)
    return try evaluate(model, batches: sampler, total: dataset.count, quiet: quiet, logits: observe)
}

/// Evaluates `model` in eval mode on `batches` of model-ready inputs (e.g. an image folder's `FolderBatches`);
/// `total` sizes the progress bar. Labels must be below the model's class count; `logits` sees each batch's logits.
public func evaluate<Batches: Sequence>(_ model: Module, batches: Batches, total: Int, quiet: Bool = false,
                                        logits observe: ((Tensor) -> Void)? = nil) throws -> Accuracy
where Batches.Element == (images: Tensor, labels: [Int]) {
    model.setTraining(false)
    let bar = ProgressBar("evaluate", total: total, unit: "img", quiet: quiet)
    var top1 = 0, top5 = 0, seen = 0, classes = 0
    try withoutGradients {
        for (images, labels) in batches {
            let logits = model(images)
            classes = logits.shape[1]
            guard logits.scalars.allSatisfy(\.isFinite) else {
                throw GenieError("the model produced NaN or infinite logits on test images \(seen)..<\(seen + labels.count)")
            }
            guard labels.allSatisfy({ (0..<classes).contains($0) }) else {
                throw GenieError("a test label is outside the model's \(classes) classes (labels \(labels.min()!)...\(labels.max()!))")
            }
            observe?(logits)
            top1 += topKHits(logits, labels: labels, k: 1)
            if classes > 5 { top5 += topKHits(logits, labels: labels, k: 5) }
            seen += labels.count
            bar.update(seen, ["top1": String(format: "%.2f%%", 100 * Double(top1) / Double(seen))])
        }
    }
    let n = Double(max(seen, 1))
    return Accuracy(top1: 100 * Double(top1) / n, top5: classes > 5 ? 100 * Double(top5) / n : nil, count: seen)
}
