/**
 * Vietnamese text of the codes an operator meets in the console, beside the English of the catalogue (which stays
 * the language of the API and of the logs, and is shown in the console only in a tooltip or in the "chi tiết kỹ
 * thuật" fold).
 *
 * - `ERROR_LABELS_VI`: every code of src/errors.ts. Typed by `ErrorCode`, so a code added to the catalogue does not
 *   compile until it has its Vietnamese label. `solve` is given where an operator acts on the code (refusals of
 *   incoming packages, broker errors, the store); elsewhere the English "how to solve" is in the fold.
 * - `CAUSES_VI`: the causes the pipeline writes into the delivery log (English, and part of the hash chain, so
 *   they are never rewritten): each as a pattern with named groups and its Vietnamese template.
 *   test/unit/console-labels.test.ts finds every `cause:` literal of src/ and checks it has a pattern.
 * - `DETAIL_KEYS_VI`: the names of the detail fields of log events.
 *
 * Terms: the local AMQP broker is "mạng liên thông lienthong" ("trục" is the national axis, VXP, and only that);
 * a certificate's revocation status is "tình trạng chứng thư (CRL/OCSP)" ("thu hồi" is the recall of a document).
 */
import type { ExpiryLevel, TrustItemKind } from '../pipeline/trust-watch.js'
import type { ErrorCode } from '../errors.js'

export interface ViErrorLabel {
  readonly label: string
  readonly solve?: string
}

export const ERROR_LABELS_VI: Readonly<Record<ErrorCode, ViErrorLabel>> = {
  GW_ERR_CONFIG_INVALID: { label: 'Cấu hình không hợp lệ', solve: 'Sửa mọi mục cấu hình được liệt kê rồi khởi động lại cổng.' },
  GW_ERR_CONFIG_FILE: { label: 'Không đọc được tệp cấu hình', solve: 'Kiểm tra đường dẫn --config và tệp là JSON đọc được.' },
  GW_ERR_CONFIG_KEY_FILE: { label: 'Không nạp được khóa hoặc chứng thư', solve: 'Kiểm tra đường dẫn khóa, chứng thư hoặc tệp PKCS#12 và mật khẩu của cơ quan trong cấu hình.' },

  GW_ERR_API_UNAUTHORIZED: { label: 'Thiếu hoặc sai khóa/tài khoản', solve: 'Đăng nhập lại bằng tài khoản vận hành hoặc khóa API hợp lệ.' },
  GW_ERR_API_LOGIN_FAILED: { label: 'Sai tên đăng nhập hoặc mật khẩu', solve: 'Kiểm tra lại tên đăng nhập và mật khẩu; nhập sai nhiều lần liên tiếp sẽ khóa tài khoản một thời gian.' },
  GW_ERR_API_ACCOUNT_LOCKED: { label: 'Tài khoản tạm bị khóa do nhập sai mật khẩu nhiều lần', solve: 'Chờ hết thời gian khóa, hoặc đề nghị quản trị viên mở khóa.' },
  GW_ERR_API_SESSION_EXPIRED: { label: 'Phiên đăng nhập đã kết thúc', solve: 'Đăng nhập lại.' },
  GW_ERR_API_FORBIDDEN: { label: 'Không có quyền thực hiện', solve: 'Thao tác này cần vai trò khác; liên hệ quản trị viên của cổng.' },
  GW_ERR_API_NOT_FOUND: { label: 'Không tìm thấy' },
  GW_ERR_API_VALIDATION: { label: 'Yêu cầu không hợp lệ' },
  GW_ERR_API_UNSUPPORTED_MEDIA_TYPE: { label: 'Kiểu nội dung không được hỗ trợ' },
  GW_ERR_API_BODY_TOO_LARGE: { label: 'Nội dung gửi lên quá lớn' },
  GW_ERR_API_DOCUMENT_ID_FORM: { label: 'Mã văn bản (DocumentId) không đúng dạng của cơ quan gửi' },
  GW_ERR_API_DOCUMENT_ID_USED: { label: 'Mã văn bản (DocumentId) đã dùng cho một văn bản khác' },
  GW_ERR_API_IDEMPOTENCY_CONFLICT: { label: 'Khóa chống gửi trùng (Idempotency-Key) đã dùng cho nội dung khác' },
  GW_ERR_API_RATE_LIMITED: { label: 'Gửi quá nhiều yêu cầu, hãy chờ rồi thử lại', solve: 'Chờ khoảng một phút rồi thử lại.' },
  GW_ERR_API_BUSY: { label: 'Cổng đang bận kiểm tra, thử lại sau', solve: 'Gửi lại sau thời gian ghi trong Retry-After.' },
  GW_ERR_API_CONFLICT: { label: 'Trạng thái hiện tại không cho phép thao tác này', solve: 'Tải lại trang để xem trạng thái mới nhất.' },
  GW_ERR_API_INTERNAL: { label: 'Lỗi nội bộ của cổng', solve: 'Tra mã yêu cầu trong nhật ký chạy của cổng và báo cho bộ phận kỹ thuật.' },

  GW_ERR_ENVELOPE_NOT_XML: { label: 'Gói tin không phải XML hợp lệ', solve: 'Bên gửi phải gửi gói edXML UTF-8 đúng cú pháp.' },
  GW_ERR_ENVELOPE_DOCTYPE: { label: 'Gói tin chứa khai báo DOCTYPE hoặc thực thể (bị từ chối vì an toàn)' },
  GW_ERR_ENVELOPE_ENTITY: { label: 'Gói tin dùng thực thể XML không được khai báo' },
  GW_ERR_ENVELOPE_TOO_DEEP: { label: 'Cấu trúc XML lồng nhau quá sâu' },
  GW_ERR_ENVELOPE_TOO_LARGE: { label: 'Gói tin vượt giới hạn kích thước' },
  GW_ERR_ENVELOPE_TOO_MANY_ATTACHMENTS: { label: 'Gói tin có quá nhiều tệp đính kèm' },
  GW_ERR_ENVELOPE_NOT_EDXML: { label: 'Gói tin không phải edXML theo QCVN 102:2016' },
  GW_ERR_ENVELOPE_MISSING_FIELD: { label: 'Thiếu trường bắt buộc của edXML' },
  GW_ERR_ENVELOPE_INVALID_FIELD: { label: 'Trường edXML có giá trị không hợp lệ' },
  GW_ERR_ENVELOPE_INVALID_ORGANID: { label: 'Mã định danh cơ quan không hợp lệ' },
  GW_ERR_ENVELOPE_INVALID_DATE: { label: 'Ngày tháng không hợp lệ (cần yyyy/MM/dd)' },
  GW_ERR_ENVELOPE_INVALID_STATUS_CODE: { label: 'Mã trạng thái không thuộc QCVN 102' },
  GW_ERR_ENVELOPE_BAD_BASE64: { label: 'Tệp đính kèm mã hóa base64 sai' },
  GW_ERR_ENVELOPE_ATTACHMENT_UNLISTED: { label: 'Tệp đính kèm không có trong danh mục (Manifest)' },
  GW_ERR_ENVELOPE_REFERENCE_MISSING: { label: 'Danh mục (Manifest) nêu tệp đính kèm không có trong gói' },
  GW_ERR_ENVELOPE_DUPLICATE_CONTENT_ID: { label: 'Hai tệp đính kèm trùng ContentId' },
  GW_ERR_ENVELOPE_SCHEMA: { label: 'Gói tin không khớp lược đồ edXML' },
  GW_ERR_ENVELOPE_REPEATED_ELEMENT: { label: 'Một phần tử edXML xuất hiện nhiều lần' },
  GW_ERR_ENVELOPE_CONTROL_CHARACTER: { label: 'Trường chứa ký tự điều khiển' },
  GW_ERR_ENVELOPE_ATTACHMENT_TYPE: { label: 'Kiểu tệp đính kèm khai báo không đúng nội dung' },
  GW_ERR_ENVELOPE_ZIP_TOO_LARGE: { label: 'Tệp ZIP đính kèm giải nén vượt giới hạn' },

  GW_ERR_SIGNATURE_INVALID: { label: 'Chữ ký số bị từ chối' },
  GW_ERR_SIGNATURE_MALFORMED: { label: 'Chữ ký không phải CMS SignedData' },
  GW_ERR_SIGNATURE_KEY: { label: 'Không dùng được khóa ký của cơ quan', solve: 'Kiểm tra khóa ký của cơ quan (PKCS#8 hoặc PKCS#12, đúng mật khẩu, khớp chứng thư).' },
  GW_ERR_SIGNATURE_CERTIFICATE: { label: 'Không đọc được chứng thư số' },
  GW_ERR_SIGNATURE_CRL: { label: 'Không đọc được danh sách CRL' },
  GW_ERR_SIGNATURE_UNSUPPORTED: { label: 'Thuật toán ký không được hỗ trợ' },
  GW_ERR_SIGNATURE_PDF: { label: 'Không đọc được chữ ký trong tệp PDF' },
  GW_ERR_SIGNATURE_REVOCATION: { label: 'Chưa lấy được tình trạng chứng thư (CRL/OCSP)', solve: 'Kiểm tra đường mạng tới máy chủ OCSP và điểm phân phối CRL của CA; gói tin được kiểm tra lại (trust.revocation.onUnavailable).' },
  GW_ERR_SIGNATURE_TOKEN_MODULE: { label: 'Không nạp được thư viện PKCS#11 của token/HSM', solve: 'Kiểm tra signing.pkcs11.module: đường dẫn thư viện PKCS#11 của nhà cung cấp.' },
  GW_ERR_SIGNATURE_TOKEN_NOT_FOUND: { label: 'Không tìm thấy token/HSM hoặc khóa ký trong đó', solve: 'Kiểm tra token đã cắm và tokenLabel (hoặc slot), keyLabel (hoặc keyId) trong cấu hình.' },
  GW_ERR_SIGNATURE_TOKEN_PIN: { label: 'Token/HSM từ chối mã PIN', solve: 'Kiểm tra mã PIN trong pinFile hoặc pinEnv; PIN bị khóa phải được mở bằng SO PIN.' },
  GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE: { label: 'Token/HSM ký số tạm thời không dùng được', solve: 'Kiểm tra token/HSM; cổng tự mở lại phiên khi token trở lại. Văn bản gửi trong lúc đó được nhận và chờ ký trong hàng gửi đi, tự ký và gửi khi token trở lại.' },
  GW_ERR_SIGNATURE_TSA: { label: 'Máy chủ cấp dấu thời gian (TSA) trả lời không dùng được', solve: 'Kiểm tra trust.tsa: địa chỉ TSA, chứng thư gốc trong trust.tsa.anchorsPaths, chính sách trust.tsa.policy; chữ ký được đóng dấu thời gian lại.' },
  GW_ERR_SIGNATURE_TSA_UNAVAILABLE: { label: 'Không liên lạc được máy chủ cấp dấu thời gian (TSA)', solve: 'Việc gửi chờ và được thử lại (gửi lại với cùng Idempotency-Key); kiểm tra đường mạng tới TSA, hoặc đặt trust.tsa.onUnavailable là send-without.' },

  GW_ERR_STORE_UNAVAILABLE: { label: 'Cơ sở dữ liệu không trả lời', solve: 'Kiểm tra cơ sở dữ liệu (quyền tệp, dung lượng đĩa, PostgreSQL); có thể thử lại.' },
  GW_ERR_STORE_CONFLICT: { label: 'Bản ghi đã tồn tại với nội dung khác' },
  GW_ERR_STORE_CORRUPT: { label: 'Kiểm tra toàn vẹn dữ liệu không đạt', solve: 'Chạy `lienthong log verify`; nếu chuỗi băm bị phá vỡ, khôi phục từ bản sao lưu.' },
  GW_ERR_STORE_NOT_FOUND: { label: 'Không có trong cơ sở dữ liệu' },
  GW_ERR_STORE_INVALID_CURSOR: { label: 'Con trỏ trang không hợp lệ', solve: 'Tải lại danh sách từ đầu.' },
  GW_ERR_STORE_PURGED: { label: 'Nội dung gói tin đã được xoá theo chính sách lưu trữ', solve: 'Bản ghi và nhật ký vẫn còn; nội dung đã xoá sau thời hạn retention. Lấy bản sao từ hệ thống gửi hoặc từ bản sao lưu nếu cần.' },
  GW_ERR_STORE_SCHEMA: { label: 'Cơ sở dữ liệu thuộc phiên bản cổng mới hơn' },

  GW_ERR_RECEIVE_NO_SIGNATURE: { label: 'Không có chữ ký', solve: 'Cổng bên gửi phải gửi kèm chữ ký CMS của đúng các byte của gói.' },
  GW_ERR_RECEIVE_RECIPIENT_NOT_HOSTED: { label: 'Cơ quan nhận không do cổng này phục vụ', solve: 'Kiểm tra mã cơ quan nhận và cấu hình `agencies`.' },
  GW_ERR_RECEIVE_RECIPIENT_NOT_ADDRESSED: { label: 'Cơ quan nhận không có trong danh sách nơi nhận', solve: 'Bên gửi sửa danh sách nơi nhận (To) hoặc cách định tuyến.' },
  GW_ERR_RECEIVE_SENDER_MISMATCH: { label: 'Chứng thư không thuộc cơ quan gửi', solve: 'Cơ quan gửi phải ký bằng chứng thư của chính mình (UID trong chứng thư = mã định danh).' },
  GW_ERR_RECEIVE_REPLAY: { label: 'Mã văn bản đã nhận trước đó với nội dung khác', solve: 'Bên gửi đặt mã văn bản mới, hoặc gửi văn bản cập nhật/thay thế.' },
  GW_ERR_RECEIVE_ORPHAN_STATUS: { label: 'Gói trạng thái không ứng với văn bản nào', solve: 'Đối chiếu ResponseFor của gói trạng thái với văn bản đã gửi.' },
  GW_ERR_RECEIVE_NOT_A_DOCUMENT: { label: 'Gói đã lưu là gói trạng thái, không phải văn bản', solve: 'Chỉ gửi lại được văn bản; bên kia có thể gửi lại trạng thái.' },
  GW_ERR_RECEIVE_INTERNAL: { label: 'Lỗi nội bộ khi xử lý gói', solve: 'Tra mã gói trong nhật ký chạy của cổng, khắc phục rồi gửi lại từ danh sách gói lỗi.' },
  GW_ERR_RECEIVE_MALFORMED: { label: 'Chữ ký sai cấu trúc', solve: 'Bên gửi ký bằng CMS SignedData tách rời (DER), một người ký.' },
  GW_ERR_RECEIVE_UNSUPPORTED_ALGORITHM: { label: 'Thuật toán ký không được chấp nhận', solve: 'Bên gửi ký bằng SHA-256/384/512 với RSA (từ 2048 bit) hoặc ECDSA.' },
  GW_ERR_RECEIVE_MISSING_SIGNED_ATTRIBUTES: { label: 'Chữ ký thiếu thuộc tính được ký', solve: 'Bên gửi ký kèm thuộc tính được ký (content-type, message-digest).' },
  GW_ERR_RECEIVE_NO_SIGNER_CERTIFICATE: { label: 'Thiếu chứng thư người ký', solve: 'Bên gửi đưa chứng thư người ký vào chữ ký, hoặc cấu hình chứng thư trung gian.' },
  GW_ERR_RECEIVE_DIGEST_MISMATCH: { label: 'Nội dung bị thay đổi sau khi ký', solve: 'Bên gửi ký và gửi đúng cùng các byte.' },
  GW_ERR_RECEIVE_BAD_SIGNATURE: { label: 'Chữ ký không đúng', solve: 'Bên gửi ký lại bằng khóa bí mật của chứng thư kèm theo.' },
  GW_ERR_RECEIVE_SIGNING_CERTIFICATE_MISMATCH: { label: 'Chứng thư ký không khớp thuộc tính ký', solve: 'Bên gửi ký bằng đúng chứng thư mà thuộc tính signing-certificate nêu.' },
  GW_ERR_RECEIVE_TIMESTAMP_INVALID: { label: 'Dấu thời gian của chữ ký không hợp lệ', solve: 'Bên gửi đóng dấu thời gian bằng một TSA hoạt động đúng và gửi nguyên vẹn token; hoặc gửi không kèm dấu thời gian.' },
  GW_ERR_RECEIVE_TIMESTAMP_MISMATCH: { label: 'Dấu thời gian không khớp với chữ ký', solve: 'Dấu thời gian phải được cấp cho chính giá trị chữ ký này; bên gửi đóng dấu thời gian lại.' },
  GW_ERR_RECEIVE_TIMESTAMP_UNTRUSTED: { label: 'Dấu thời gian không do TSA tin cậy cấp', solve: 'Nếu tin cậy TSA này, thêm chứng thư gốc của nó vào trust.tsa.anchorsPaths rồi gửi lại gói lỗi.' },
  GW_ERR_RECEIVE_SIGNING_TIME_IN_FUTURE: { label: 'Thời điểm ký ở tương lai', solve: 'Bên gửi chỉnh đồng hồ máy chủ (NTP).' },
  GW_ERR_RECEIVE_SIGNING_TIME_OUT_OF_RANGE: { label: 'Thời điểm ký quá xa thời điểm nhận', solve: 'Bên gửi ký lại ngay bây giờ (đồng hồ phải đúng).' },
  GW_ERR_RECEIVE_UNTRUSTED_CHAIN: { label: 'Chứng thư không được tin cậy', solve: 'Thêm chứng thư CA cấp cho bên gửi vào trust.anchorsPaths (hoặc chứng thư trung gian vào trust.intermediatesPaths), rồi gửi lại gói lỗi.' },
  GW_ERR_RECEIVE_CERT_NOT_YET_VALID: { label: 'Chứng thư chưa có hiệu lực', solve: 'Bên gửi ký bằng chứng thư đã có hiệu lực (hoặc chỉnh đồng hồ).' },
  GW_ERR_RECEIVE_CERT_EXPIRED: { label: 'Chứng thư hết hạn', solve: 'Bên gửi gia hạn chứng thư rồi ký lại.' },
  GW_ERR_RECEIVE_KEY_USAGE: { label: 'Chứng thư không được phép dùng để ký', solve: 'Bên gửi dùng chứng thư có mục đích ký số (digitalSignature/nonRepudiation).' },
  GW_ERR_RECEIVE_REVOKED: { label: 'Tình trạng chứng thư (CRL/OCSP): đã bị chấm dứt hiệu lực', solve: 'Bên gửi xin cấp chứng thư mới; nếu CRL sai, sửa tệp trong trust.crlPaths rồi gửi lại gói lỗi.' },
  GW_ERR_RECEIVE_REVOCATION_UNAVAILABLE: { label: 'Tình trạng chứng thư (CRL/OCSP): không nguồn nào trả lời', solve: 'Kiểm tra đường mạng tới OCSP và điểm phân phối CRL của CA (trust.revocation) rồi gửi lại gói lỗi.' },
  GW_ERR_RECEIVE_CRL_EXPIRED: { label: 'Tình trạng chứng thư (CRL/OCSP): danh sách CRL đã quá hạn cập nhật', solve: 'Đặt CRL mới nhất vào trust.crlPaths rồi gửi lại gói lỗi.' },
  GW_ERR_RECEIVE_DELIVERY_LIMIT: { label: 'Gói tin được giao lại nhiều lần mà không xử lý xong', solve: 'Gói đã chuyển vào hàng thư lỗi (dead-letter) mà không đọc; xem nhật ký cổng để biết nguyên nhân.' },

  GW_ERR_TRANSPORT_UNAVAILABLE: { label: 'Không kết nối được mạng liên thông lienthong (máy chủ thông điệp)', solve: 'Khởi động RabbitMQ hoặc sửa amqp.url; văn bản chờ trong hàng gửi đi.' },
  GW_ERR_TRANSPORT_UNROUTABLE: { label: 'Không có hàng đợi nào nhận gói cho cơ quan này', solve: 'Kiểm tra mã cơ quan nhận, hoặc đề nghị cổng của cơ quan đó đăng ký hàng đợi.' },
  GW_ERR_TRANSPORT_NACKED: { label: 'Máy chủ thông điệp từ chối gói', solve: 'Kiểm tra máy chủ thông điệp (cảnh báo đĩa/bộ nhớ, giới hạn hàng đợi); có thể gửi lại.' },
  GW_ERR_TRANSPORT_INVALID_MESSAGE: { label: 'Gói không thể phát lên mạng liên thông', solve: 'Gói tự nó không dùng được (tiêu đề quá lớn, độ ưu tiên sai); gửi lại không giúp được.' },
  GW_ERR_VXP_UNAUTHORIZED: { label: 'Hệ thống VXP không xác thực được (sai systemid hoặc secret)', solve: 'Kiểm tra systemid và secret của hệ thống trong vxp.server.systems và cấu hình của SDK.' },
  GW_ERR_VXP_FORBIDDEN: { label: 'Hệ thống VXP không được gửi hoặc đọc cho cơ quan này' },
  GW_ERR_VXP_HASH_MISMATCH: { label: 'Nội dung gửi qua VXP không khớp mã băm (hash-file)' },
  GW_ERR_VXP_INVALID_REQUEST: { label: 'Yêu cầu VXP không hợp lệ' },
  GW_ERR_VXP_NOT_FOUND: { label: 'Không tìm thấy văn bản VXP' },
  GW_ERR_VXP_UNSUPPORTED: { label: 'Thao tác VXP không được hỗ trợ' },
  GW_ERR_VXP_AXIS_UNAVAILABLE: { label: 'Không kết nối được trục liên thông văn bản quốc gia', solve: 'Kiểm tra vxp.axis.endpoint và mạng; văn bản chờ trong hàng gửi đi và tự gửi lại khi trục liên thông văn bản quốc gia trả lời.' },
  GW_ERR_VXP_AXIS_REFUSED: { label: 'Trục liên thông văn bản quốc gia từ chối yêu cầu', solve: 'Xem ErrorCode/ErrorDesc của trục: sai secret, systemId hoặc cơ quan chưa đăng ký trên trục liên thông văn bản quốc gia.' },
}

/**
 * Causes of log events: a regular expression (source, matched against the whole cause) with named groups, and the
 * Vietnamese template using them as `{name}`. First match wins; an unknown cause is shown as it is, in the fold.
 */
export const CAUSES_VI: readonly (readonly [pattern: string, vi: string])[] = [
  ['signed and stored', 'Đã ký số và lưu'],
  ['stored, awaiting its signature: the signing token is unavailable', 'Đã lưu, chờ ký số: thiết bị ký (token/HSM) không dùng được; tự ký và gửi khi thiết bị trở lại'],
  ['signed after waiting for the signing token', 'Đã ký số sau khi chờ thiết bị ký (token/HSM) trở lại; gói được gửi đi'],
  ['broker confirmed', 'Mạng liên thông lienthong đã xác nhận nhận gói'],
  ['publish failed', 'Không phát được gói lên mạng liên thông lienthong'],
  ['verified and stored', 'Chữ ký hợp lệ, đã lưu'],
  ['rejected', 'Bị từ chối'],
  ['status (?<code>\\d\\d) from the DMS', 'Trạng thái {code} do hệ thống quản lý văn bản (DMS) gửi'],
  ['status (?<code>\\d\\d) from peer', 'Trạng thái {code} nhận từ cơ quan nhận'],
  ['status (?<code>\\d\\d) from (?<author>\\S+)', 'Trạng thái {code} nhận từ {author}'],
  ['fetched by the DMS', 'Hệ thống quản lý văn bản (DMS) đã lấy về'],
  ['replayed by operator: verification passed', 'Vận hành gửi lại: kiểm tra chữ ký đạt'],
  ['replay by operator: still rejected, (?<code>[A-Z_]+): (?<message>.*)', 'Vận hành gửi lại: vẫn bị từ chối — {code}'],
  ['replayed by operator: back to the outbox', 'Vận hành gửi lại: đưa lại vào hàng gửi đi'],
  ['discarded by operator', 'Vận hành hủy bỏ'],
  ['retention: bytes of (?<n>\\S+) (?<dir>\\S+) package\\(s\\) purged, (?<k>\\S+) idempotency key\\(s\\) removed', 'Lưu trữ: đã xoá nội dung của {n} gói tin (hết thời hạn lưu), {k} khoá idempotency'],
  ['revoke \\(BussinessDocType 1\\) from the sender', 'Bên gửi thu hồi văn bản (BussinessDocType 1)'],
  ['updated by package (?<id>\\S+) \\(DocumentId (?<documentId>[^)]+)\\)', 'Được cập nhật bởi gói {id} (mã văn bản {documentId})'],
  ['replaced by package (?<id>\\S+) \\(DocumentId (?<documentId>[^)]+)\\)', 'Được thay thế bởi gói {id} (mã văn bản {documentId})'],
  ['document\\.received', 'Báo DMS qua webhook: có văn bản mới nhận'],
  ['status\\.changed', 'Báo DMS qua webhook: trạng thái thay đổi'],
  ['recall\\.requested', 'Báo DMS qua webhook: bên gửi yêu cầu lấy lại'],
  ['confirmed by the national axis \\(sendEdoc\\)', 'Trục liên thông văn bản quốc gia đã xác nhận nhận gói (sendEdoc)'],
  ['sendEdoc to the national axis failed: (?<code>\\S+)', 'Gửi lên trục liên thông văn bản quốc gia không được: {code}'],
  ['updateStatus (?<status>\\S+) from VXP system (?<system>\\S+)', 'Hệ thống VXP {system} báo trạng thái {status}'],
  ['(?<code>(GW_ERR_)?[A-Z][A-Z_]+): (?<message>.*)', '{code}'],
]

/**
 * The national-axis connector and the VXP endpoint in the console: the connector's states (src/vxp/connector.ts
 * `AxisState`), the transport a delivery took (`detail.via`), the `queued` of a delivery the axis confirmed, the
 * verdict of a package that came from the axis. The VXP endpoint of this gateway is not the axis: it is "giao thức
 * VXP" (the systems calling it are DMSs).
 */
export const AXIS_VI = {
  states: {
    starting: 'Đang khởi động',
    connected: 'Đã kết nối',
    unreachable: 'Không kết nối được',
    refused: 'Trục liên thông văn bản quốc gia từ chối yêu cầu',
  },
  via: { axis: 'Trục liên thông văn bản quốc gia (VXP)', amqp: 'Mạng liên thông lienthong (AMQP)' },
  queued: 'Đã gửi lên trục liên thông văn bản quốc gia',
  unsignedVerdict: 'Nhận qua trục liên thông văn bản quốc gia: không có chữ ký CMS, đã kiểm tra chữ ký trong tệp PDF',
  /** The console's health screen and document page (src/console/views/); every use names the axis in full. */
  health: {
    title: 'Trục liên thông văn bản quốc gia',
    connection: 'Kết nối tới trục liên thông văn bản quốc gia',
    up: 'văn bản cho các cơ quan trên trục liên thông văn bản quốc gia được gửi và nhận bình thường',
    down: 'văn bản cho các cơ quan trên trục liên thông văn bản quốc gia chờ trong hàng gửi đi và tự gửi khi trục liên thông văn bản quốc gia trả lời',
    backlog: 'Chờ gửi lên trục liên thông văn bản quốc gia',
    backlogNote: 'nơi nhận đi qua trục liên thông văn bản quốc gia, chưa được xác nhận',
    sent: 'Đã gửi lên trục liên thông văn bản quốc gia',
    received: 'Đã nhận từ trục liên thông văn bản quốc gia',
    endpoint: 'Địa chỉ trục liên thông văn bản quốc gia',
    systemId: 'Mã hệ thống của cổng trên trục liên thông văn bản quốc gia',
    organIds: 'Cơ quan nhận văn bản qua trục liên thông văn bản quốc gia',
    lastPoll: 'Lần lấy văn bản từ trục liên thông văn bản quốc gia gần nhất',
    lastSent: 'Lần gửi lên trục liên thông văn bản quốc gia gần nhất',
    // the document page, for a recipient routed via the axis
    attempts: 'Số lần gửi lên trục liên thông văn bản quốc gia',
    confirmedAt: 'Trục liên thông văn bản quốc gia xác nhận lúc',
  },
} as const

/**
 * The trust watch (src/pipeline/trust-watch.ts) in the console's health screen: what each listed item is, the
 * warning levels by days left, and the screen's words. A certificate's end of validity is "hết hạn"; a CRL's
 * nextUpdate is "hạn cập nhật" (a CRL past it is stale, not revoked).
 */
export const TRUST_VI = {
  kinds: {
    signing: 'Chứng thư ký của cơ quan',
    chain: 'Chứng thư trong chuỗi gửi kèm chữ ký',
    anchor: 'Chứng thư gốc tin cậy',
    intermediate: 'Chứng thư trung gian',
    'tsa-anchor': 'Chứng thư gốc của dịch vụ cấp dấu thời gian',
    'tsa-intermediate': 'Chứng thư của dịch vụ cấp dấu thời gian',
    crl: 'Danh sách chứng thư bị chấm dứt hiệu lực (CRL, tệp)',
    'crl-fetched': 'Danh sách chứng thư bị chấm dứt hiệu lực (CRL, tải về)',
  } satisfies Record<TrustItemKind, string>,
  levels: {
    ok: 'Còn hạn',
    'days-30': 'Hết hạn trong 30 ngày',
    'days-7': 'Hết hạn trong 7 ngày',
    'days-1': 'Hết hạn trong 1 ngày',
    expired: 'Đã hết hạn',
  } satisfies Record<ExpiryLevel, string>,
  health: {
    title: 'Hạn của chứng thư và danh sách CRL',
    caption: 'Chứng thư ký của các cơ quan, chứng thư gốc, chứng thư trung gian và hạn cập nhật của các danh sách CRL: cảnh báo khi còn 30, 7, 1 ngày',
    none: 'Không có chứng thư hay danh sách CRL nào sắp hết hạn.',
    warnings: 'Cần gia hạn hoặc thay thế',
    needed: 'cổng không sẵn sàng khi mục này hết hạn',
    problems: 'Không đọc được tệp tin cậy',
    tokens: 'Thiết bị ký PKCS#11 (USB token, HSM)',
    tokenUp: 'Sẵn sàng ký',
    tokenDown: 'Không dùng được: văn bản của cơ quan này vẫn được nhận, lưu trong hàng gửi đi chờ ký số; thiết bị trở lại thì tự ký và gửi đi',
    awaiting: 'Chờ ký số',
    awaitingNote: 'gói tin đã lưu trong hàng gửi đi, chưa ký vì thiết bị ký (token/HSM) không dùng được; tự ký và gửi khi thiết bị trở lại',
    since: 'Từ lúc',
    signatures: 'Số chữ ký đã tạo',
    reopens: 'Số lần mở lại',
  },
} as const

/** Names of the detail fields of log events (`detail` of src/store/types.ts LogEvent). */
export const DETAIL_KEYS_VI: Readonly<Record<string, string>> = {
  description: 'Mô tả',
  via: 'Gửi qua',
  axisDocId: 'Mã văn bản trên trục liên thông văn bản quốc gia',
  endpoint: 'Địa chỉ trục liên thông văn bản quốc gia',
  retryInMs: 'Thử lại sau (ms)',
  vxpStatus: 'Trạng thái hệ thống VXP báo',
  code: 'Mã',
  staff: 'Người xử lý',
  staffInfo: 'Người xử lý',
  department: 'Đơn vị',
  mobile: 'Điện thoại',
  email: 'Thư điện tử',
  timestamp: 'Thời điểm bên kia ghi',
  note: 'Ghi chú',
  verdict: 'Kết quả kiểm tra chữ ký',
  verdictMessage: 'Diễn giải kết quả',
  signer: 'Người ký',
  awaitingSignature: 'Chờ ký số',
  waitingSince: 'Chờ ký từ lúc',
  failedAttempts: 'Số lần ký không được',
  signatureSize: 'Kích thước chữ ký (byte)',
  signingAgency: 'Cơ quan ký',
  previousReason: 'Lý do trước đó',
  attempts: 'Số lần phát lên mạng liên thông',
  attempt: 'Lần phát thứ',
  reason: 'Lý do',
  method: 'Cách thức',
  statusPackageId: 'Mã gói trạng thái',
  requestPackageId: 'Mã gói yêu cầu',
  revokePackageId: 'Mã gói thu hồi',
  by: 'Gói thay thế',
  byDocumentId: 'Mã văn bản thay thế',
  webhookId: 'Mã thông báo webhook',
  event: 'Sự kiện',
  status: 'Mã HTTP trả về',
  clientId: 'Khách DMS',
  kind: 'Loại gói',
  size: 'Kích thước (byte)',
  priority: 'Độ khẩn',
  sha256: 'Mã băm SHA-256',
  messageId: 'Mã thông điệp',
}
