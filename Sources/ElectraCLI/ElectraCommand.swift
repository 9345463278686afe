import ArgumentParser

@main
struct ElectraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electra",
        abstract: "ELECTRA models in Swift: inference, tokenization, benchmarks.",
        subcommands: [Info.self, Infer.self, Bench.self, InitModel.self, FineTune.self, Evaluate.self, Predict.self, Tokenize.self, Detokenize.self])
}
