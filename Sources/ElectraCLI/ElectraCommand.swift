import ArgumentParser
import Foundation
import ElectraHDF5

@main
struct ElectraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electra",
        abstract: "ELECTRA models in Swift: inference, fine-tuning, tokenization, checkpoint conversion, benchmarks.",
        subcommands: [Info.self, Infer.self, Bench.self, InitModel.self, FineTune.self, PrepareData.self, Pretrain.self, Detect.self, FillMask.self, Demo.self, Embed.self, Evaluate.self, Predict.self, Tokenize.self, Detokenize.self, Convert.self, Serve.self])

    // Every command reads tf_model.h5 too: the HDF5 reader lives in its own module.
    /// ArgumentParser's own messages start "Error:"; the commands' start "error:". One
    /// spelling for every message a user sees: "error: ..." on stderr, non-zero exit.
    static func main() {
        ElectraHDF5.register()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            var message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                Foundation.exit(0)
            }
            if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            Foundation.exit(code.rawValue)
        }
    }
}
