import Electra
import Foundation

/// One labelled example for sequence classification.
public struct TextExample: Sendable, Equatable {
    public var text: String
    public var pair: String?
    /// The label as written in the file ("1", "positive", "3.8").
    public var label: String
    /// 1-based line number in its file, for error messages.
    public var line: Int
}

/// Where the columns of a TSV are. Indices are 0-based.
public struct TSVLayout: Sendable, Equatable {
    public var textColumn: Int
    public var pairColumn: Int?
    public var labelColumn: Int
    public var hasHeader: Bool

    public init(textColumn: Int, pairColumn: Int? = nil, labelColumn: Int, hasHeader: Bool) {
        self.textColumn = textColumn
        self.pairColumn = pairColumn
        self.labelColumn = labelColumn
        self.hasHeader = hasHeader
    }

    /// The GLUE layouts found in ../shared/data/glue (and the official files).
    public static let sst2 = TSVLayout(textColumn: 0, labelColumn: 1, hasHeader: true)
    public static let cola = TSVLayout(textColumn: 3, labelColumn: 1, hasHeader: false)
    public static let mrpc = TSVLayout(textColumn: 3, pairColumn: 4, labelColumn: 0, hasHeader: true)
    public static let rte = TSVLayout(textColumn: 1, pairColumn: 2, labelColumn: 3, hasHeader: true)

    /// The GLUE task this layout is, or what kind of text it holds: recorded as
    /// `finetuning_task` in a fine-tuned config, so that evaluate can refuse another task's data.
    public var taskName: String {
        switch self {
        case .sst2: "sst-2"
        case .cola: "cola"
        case .mrpc: "mrpc"
        case .rte: "rte"
        default: pairColumn == nil ? "single-text" : "text-pair"
        }
    }

    /// Guesses the layout from the first line: a known GLUE header names its columns;
    /// a 4-column line without one is CoLA's.
    public static func detect(firstLine: String, file: String) throws -> TSVLayout {
        let cols = firstLine.split(separator: "\t", omittingEmptySubsequences: false).map { $0.lowercased() }
        func idx(_ names: [String]) -> Int? { cols.firstIndex { names.contains($0) } }
        if let label = idx(["label", "quality", "gold_label", "score", "is_duplicate"]) {
            if let a = idx(["sentence1", "#1 string", "question", "question1"]), let b = idx(["sentence2", "#2 string", "sentence", "question2"]), a != b {
                return TSVLayout(textColumn: a, pairColumn: b, labelColumn: label, hasHeader: true)
            }
            if let t = idx(["sentence", "text"]) { return TSVLayout(textColumn: t, labelColumn: label, hasHeader: true) }
        }
        if cols.count == 4 { return .cola }
        throw ElectraError("\(file): cannot tell the columns from the first line (\(cols.count) columns); pass --text-column, --label-column (and --pair-column, --header/--no-header)")
    }
}

public enum ClassificationTSV {
    /// Reads examples. Every line must have at least as many tab-separated fields as the
    /// layout needs; blank lines are skipped. No quote processing (GLUE files are raw TSV).
    public static func read(_ url: URL, layout: TSVLayout?) throws -> (examples: [TextExample], layout: TSVLayout) {
        let name = url.lastPathComponent
        var lines = TextFile.lines(try TextFile.read(url))
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { throw ElectraError("\(name): the file is empty") }
        let lay = try layout ?? TSVLayout.detect(firstLine: String(first), file: name)
        for (option, column) in [("--text-column", lay.textColumn), ("--label-column", lay.labelColumn), ("--pair-column", lay.pairColumn ?? 0)]
        where !(0..<10_000).contains(column) {
            throw ElectraError("\(option) must be a 0-based column number, got \(column)")
        }
        let need = max(lay.textColumn, lay.labelColumn, lay.pairColumn ?? 0) + 1
        var out: [TextExample] = []
        for (i, raw) in lines.enumerated() where !(i == 0 && lay.hasHeader) && !raw.isEmpty {
            let f = raw.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= need else {
                throw ElectraError("\(name):\(i + 1): expected at least \(need) tab-separated columns, found \(f.count)")
            }
            out.append(TextExample(text: String(f[lay.textColumn]), pair: lay.pairColumn.map { String(f[$0]) },
                                   label: String(f[lay.labelColumn]).trimmingCharacters(in: .whitespaces), line: i + 1))
        }
        guard !out.isEmpty else { throw ElectraError("\(name): no examples (only a header?)") }
        return (out, lay)
    }

    /// Label names in a stable order: numerically when every label is an integer, else
    /// alphabetically.
    public static func labelNames(_ examples: [TextExample]) -> [String] {
        let unique = Array(Set(examples.map(\.label)))
        if unique.allSatisfy({ Int($0) != nil }) { return unique.sorted { Int($0)! < Int($1)! } }
        return unique.sorted()
    }
}
