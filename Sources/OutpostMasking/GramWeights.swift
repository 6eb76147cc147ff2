/// A rough model of how often bytes occur in log output, used to place each
/// pattern's window where the scanner's samples are least likely to hit
/// ordinary text. Only the ranking matters, not the exact figures: spaces,
/// lowercase letters and URL punctuation are common, capitals and digits
/// less so, other bytes rare.
enum GramWeights {
    /// Relative frequency of each byte value in typical log text.
    static let byteWeights: [Double] = (0 ... 255).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: " "): return 0.12
        case _ where "etaoinsr".utf8.contains(byte): return 0.05
        case UInt8(ascii: "a") ... UInt8(ascii: "z"): return 0.02
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return 0.015
        case _ where "\n./:-_=,\"".utf8.contains(byte): return 0.01
        case UInt8(ascii: "A") ... UInt8(ascii: "Z"): return 0.006
        case _ where "()[]{}'&?;".utf8.contains(byte): return 0.004
        case 0x21 ... 0x7E: return 0.001
        default: return 0.0005
        }
    }

    /// Expected frequency of the gram at `pointer` in log text.
    static func weight(_ pointer: UnsafePointer<UInt8>, width: Int) -> Double {
        var weight = 1.0
        for i in 0 ..< width { weight *= byteWeights[Int(pointer[i])] }
        return weight
    }

    /// The window start `w` in `0 ... limit` (and within the pattern) whose
    /// `stride` grams are least frequent in total (a sliding sum: the index is
    /// built for every task, so this stays linear in the pattern's length).
    static func cheapestWindow(
        _ pattern: UnsafePointer<UInt8>, length: Int, gramWidth: Int, stride: Int, limit: Int
    ) -> Int {
        let last = max(0, min(limit, length - gramWidth - stride + 1))
        let weights = (0 ..< last + stride).map { weight(pattern + $0, width: gramWidth) }
        var cost = weights[0 ..< stride].reduce(0, +)
        var best = 0
        var bestCost = cost
        for window in 1 ..< last + 1 {
            cost += weights[window + stride - 1] - weights[window - 1]
            if cost < bestCost * (1 - 1e-9) {
                best = window
                bestCost = cost
            }
        }
        return best
    }
}
