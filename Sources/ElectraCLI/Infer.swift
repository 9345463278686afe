import ArgumentParser
import Electra
import ElectraKernels
import Foundation

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on tensors from a safetensors file and write HF-named outputs.",
        discussion: """
        Input tensors (I64 or I32): input_ids [B, L] ([B, C, L] for multiple-choice), optional \
        attention_mask, token_type_ids, position_ids, labels (integer, or F32 for regression / \
        multi-label), start_positions, end_positions.

        Output (F32): loss [1], logits, start_logits, end_logits, last_hidden_state, \
        hidden_states.N, attentions.N.
        """)

    @Option(help: "Model folder: config.json + weights in any supported format (safetensors, pytorch_model.bin, flax_model.msgpack, tf_model.h5, TF1 checkpoint; sharded too).")
    var model: String

    @Option(help: "One of: \(ElectraTask.allCases.map(\.rawValue).joined(separator: ", ")). Default: from config architectures[0].")
    var task: String?

    @Option(help: "Input safetensors file.")
    var input: String

    @Option(help: "Output safetensors file (written atomically).")
    var output: String

    @Flag(help: "Also write hidden_states.0 ... hidden_states.N.")
    var outputHiddenStates = false

    @Flag(help: "Also write attentions.0 ... attentions.N-1.")
    var outputAttentions = false

    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let inferenceDType = try running.apply()
            let dir = try ModelArgument.folder(model, option: "--model")
            let config = try ElectraConfig.load(from: try ModelFolder.configURL(dir))
            let chosen: ElectraTask
            if let task {
                guard let t = ElectraTask(rawValue: task) else {
                    throw ElectraError("unknown task '\(task)'; expected one of \(ElectraTask.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                chosen = t
            } else {
                chosen = try ElectraTask.fromConfig(config, hint: "pass --task to run it as one of the supported classes")
            }
            try refuseOutputFileOverInputs(output, [(option: "--input", path: input)], model: dir)
            let inputs = try ElectraInputs.read(from: URL(fileURLWithPath: input))
            let (m, report) = try chosen.load(config: config, weights: try CheckpointWeights.open(dir))
            m.setInferenceDType(inferenceDType)
            for w in report.warnings + config.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
            let out = try m(inputs, options: ForwardOptions(outputHiddenStates: outputHiddenStates, outputAttentions: outputAttentions))
            let named = out.namedTensors
            try SafeTensorsWriter.write(named.map { ($0.0, .float($0.1)) },
                                        metadata: ["format": "pt", "task": chosen.rawValue],
                                        to: URL(fileURLWithPath: output))
            print("\(chosen.modelType.architecture) on input_ids \(shapeString(inputs.inputIds.shape)) -> \(output)")
            for (name, t) in named {
                let preview = t.scalars.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: ", ")
                print("  \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(shapeString(t.shape))  [\(preview)\(t.count > 6 ? ", ..." : "")]")
            }
        }
    }
}
