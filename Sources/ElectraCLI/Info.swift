import ArgumentParser
import Electra
import Foundation

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model folder (architecture, sizes, parameters, heads, dtype) and the kernels this machine runs.",
        discussion: "Without --model, only the machine line: the CPU's vector units, the product library, and how int8 and bf16 requests run here and why.")

    @Option(help: "Model folder: config.json + weights in any supported format (safetensors, pytorch_model.bin, flax_model.msgpack, tf_model.h5, TF1 checkpoint).")
    var model: String?

    func run() throws {
        try runReportingErrors {
            guard let model else {
                print(machineLine)
                return
            }
            let dir = try ModelArgument.folder(model, option: "--model")
            let config = try ElectraConfig.load(from: try ModelFolder.configURL(dir))
            let weights = try CheckpointWeights.open(dir)
            let task = try ElectraTask.fromConfig(config)
            let (m, report) = try task.load(config: config, weights: weights)
            let c = config
            print("model:          \(dir.path)")
            print("architecture:   \(c.architectures?.joined(separator: ", ") ?? "(none; ElectraModel)") -> task \(task.rawValue)")
            print("sizes:          vocab \(c.vocabSize), embedding \(c.embeddingSize), hidden \(c.hiddenSize), layers \(c.numHiddenLayers), heads \(c.numAttentionHeads), intermediate \(c.intermediateSize)")
            print("activation:     \(c.hiddenActName); positions: \(c.positionEmbeddingType.rawValue), max \(c.maxPositionEmbeddings); type vocab \(c.typeVocabSize)")
            print("labels:         \(c.numLabels) (\(c.id2label.sorted { $0.key < $1.key }.map(\.value).joined(separator: ", ")))")
            print("parameters:     \(formatCount(m.parameterCount)) (backbone \(formatCount(backboneCount(m))))")
            print("heads present:  \(headsPresent(weights).joined(separator: ", "))")
            print("format:         \(weights.formatSummary)")
            print("dtype:          \(weights.dtypeSummary)")
            print("weights:        \(weights.description)")
            print(machineLine)
            for w in report.warnings + c.warnings { print("warning: \(w)") }
        }
    }

    var machineLine: String {
        "this machine:   \(CPUFeatures.current); products \(GemmBackend.summary); elementwise \(VectorISA.kernelName); int8: \(Int8Kernel.current.rawValue); bf16: \(BF16Kernel.summary)"
    }

    func backboneCount(_ m: any ElectraHeadModel) -> Int {
        let table = ParameterTable()
        for (name, p) in m.parameters.uniqueParameters where !isHeadName(name) { table.register(name, p) }
        return table.parameterCount
    }

    func isHeadName(_ name: String) -> Bool {
        let k = CheckpointWeights.lookupKey(name)
        return !(k.hasPrefix("embeddings.") || k.hasPrefix("encoder.") || k.hasPrefix("embeddings_project."))
    }

    func headsPresent(_ w: CheckpointWeights) -> [String] {
        let heads = [("discriminator_predictions.", "pretraining (discriminator)"),
                     ("generator_predictions.", "masked-lm (generator)"),
                     ("classifier.out_proj.", "sequence-classification"),
                     ("sequence_summary.", "multiple-choice"),
                     ("qa_outputs.", "question-answering")]
        var found = heads.filter { h in w.storedNames.contains { $0.hasPrefix(h.0) } }.map(\.1)
        if w.storedNames.contains("classifier.weight") && !found.contains("multiple-choice") {
            found.append("token-classification")
        }
        return found.isEmpty ? ["none (backbone only)"] : found
    }
}

func formatCount(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, ch) in s.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return String(out.reversed())
}

/// Prints an ElectraError as one clear line and exits non-zero instead of a stack trace.
