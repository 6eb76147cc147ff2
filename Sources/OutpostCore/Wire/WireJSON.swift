package import Foundation

/// The JSON coders of every Outpost API body: ISO 8601 dates with milliseconds.
/// Keys are spelled snake_case by each type's `CodingKeys` (never by a key
/// strategy, which would also rewrite environment variable names in maps).
package enum WireJSON {
    package static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatDate(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    package static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\"\(text)\" is not an ISO 8601 date")
            }
            return date
        }
        return decoder
    }

    /// Decodes a request body strictly (see `StrictJSONDecoder`): unknown fields,
    /// repeated keys, numbers of the wrong kind or size and wrong JSON types are
    /// refused with an error naming the field. Pure (bytes in, value or error out), so
    /// a fuzzer can call it directly. Answers from the hub are read with `decoder()`,
    /// which tolerates fields a newer hub adds.
    package static func decodeRequest<T: Decodable>(_ type: T.Type, from bytes: some Sequence<UInt8>)
        throws(WireDecodingError) -> T
    {
        let value = try JSONParser.parse(bytes)
        do {
            return try T(from: StrictJSONDecoder(value: value, codingPath: []))
        } catch let error as WireDecodingError {
            throw error
        } catch let error as DecodingError {
            throw WireDecodingError(describing: error)
        } catch {
            throw WireDecodingError(.invalidValue, field: "", "the request body could not be decoded")
        }
    }

    package static func formatDate(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
            .replacingOccurrences(of: "+0000", with: "Z")
    }

    package static func parseDate(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) {
            return d
        }
        return try? Date(text, strategy: .iso8601)
    }
}
