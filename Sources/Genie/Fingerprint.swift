import NN
import Tensors

/// A short hash of tensors' values (FNV-1a over their float bits): resume files record it, so that a run started
/// again with other weights or other calibration images does not pick up work done for different ones.
func valueHash(_ tensors: [Tensor]) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for t in tensors {
        for x in t.scalars { h = (h ^ UInt64(x.bitPattern)) &* 0x100_0000_01B3 }
        h = (h ^ UInt64(t.count)) &* 0x100_0000_01B3
    }
    return String(h, radix: 16)
}

extension Module {
    /// The hash of the model's parameters and buffers.
    var weightsHash: String { valueHash(stateDict().map(\.value)) }
}
