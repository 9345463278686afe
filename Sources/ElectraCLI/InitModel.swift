import ArgumentParser
import Electra
import ElectraTraining
import Foundation

struct InitModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a randomly initialised model folder (HF init) for a published shape, with tokenizer files copied in.")

    @Option(help: "One of \(ElectraConfig.presetNames.joined(separator: ", ")), or a pretraining shape: tiny, mini (the random-initialisation baseline for models `electra pretrain` makes).") var preset = "small"
    @Option(help: "Output folder.") var output: String
    @Option(help: "Folder whose tokenizer files (tokenizer.json, vocab.txt, ...) are copied in.") var tokenizer: String?
    @Option(help: "Seed of the initialisation.") var seed: UInt64 = 0
    @Flag(help: "In an existing output folder, replace the files init writes (config, weights, tokenizer files); other files stay.") var overwrite = false

    func run() throws {
        try runReportingErrors {
            var found = ElectraConfig.preset(preset)
            if found == nil, ["tiny", "mini"].contains(preset) {
                found = try PretrainingPreset.named(preset).discriminator
                found?.architectures = ["ElectraModel"]
            }
            guard let config = found else {
                throw ElectraError("unknown preset '\(preset)'; expected one of \((ElectraConfig.presetNames + ["tiny", "mini"]).joined(separator: ", "))")
            }
            let out = URL(fileURLWithPath: output)
            let tokenizerDir = try tokenizer.map { try ModelArgument.folder($0, option: "--tokenizer") }
            if let tokenizerDir { try refuseOutputOverInputs(out, [("--tokenizer", tokenizerDir)]) }
            // Checked before anything is written; the folder appears whole or not at all.
            let files = try tokenizerDir.map { dir -> [URL] in
                let files = TokenizerFiles.present(in: dir)
                guard !files.isEmpty else { throw ElectraError("no tokenizer files in \(dir.path) (expected tokenizer.json or vocab.txt)") }
                return files
            } ?? []
            let model = try ElectraModel(config: config, seed: seed)
            let written = try AtomicFolder.create(out, replace: overwrite, option: "--overwrite") { tmp in
                try model.save(to: tmp)
                for f in files { try TrainerCheckpoints.copyReplacing(f, into: tmp) }
            }
            noteKeptTokenizerFiles(in: out, written: written)
            print("wrote \(out.path): ElectraModel \(preset), \(formatCount(model.parameterCount)) parameters, seed \(seed)")
        }
    }
}
