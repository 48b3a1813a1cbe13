import ArgumentParser

@main
struct GenieCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genie",
        abstract: "Data-free quantization of CNNs by GENIE (distill calibration images, then quantize to 2-8 bits).",
        subcommands: [Train.self, Evaluate.self, Distill.self, Merge.self, Quantize.self, Run.self, Bench.self])
}
