import ArgumentParser
import Electra
import ElectraTraining
import Foundation

struct InitModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a randomly initialised model folder (HF init) for a published shape, with tokenizer files copied in.")

    @Option(help: "One of \(ElectraConfig.presetNames.joined(separator: ", ")).") var preset = "small"
    @Option(help: "Output folder.") var output: String
    @Option(help: "Folder whose tokenizer files (tokenizer.json, vocab.txt, ...) are copied in.") var tokenizer: String?
    @Option(help: "Seed of the initialisation.") var seed: UInt64 = 0
    @Flag(help: "Replace an existing output folder.") var overwrite = false

    func run() throws {
        try runReportingErrors {
            guard let config = ElectraConfig.preset(preset) else {
                throw ElectraError("unknown preset '\(preset)'; expected one of \(ElectraConfig.presetNames.joined(separator: ", "))")
            }
            let out = URL(fileURLWithPath: output)
            if FileManager.default.fileExists(atPath: out.path) && !overwrite {
                throw ElectraError("\(out.path) exists; pass --overwrite to replace it")
            }
            let model = try ElectraModel(config: config, seed: seed)
            try model.save(to: out)
            if let tokenizer {
                let dir = URL(fileURLWithPath: tokenizer)
                let files = TokenizerFiles.present(in: dir)
                guard !files.isEmpty else { throw ElectraError("no tokenizer files in \(dir.path)") }
                for f in files { try Checkpoints.copyReplacing(f, into: out) }
            }
            print("wrote \(out.path): ElectraModel \(preset), \(formatCount(model.parameterCount)) parameters, seed \(seed)")
        }
    }
}
