package web

import (
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language the page speaks.
type Lang string

const (
	Chinese Lang = "zh"
	English Lang = "en"
)

// Other is the language the switch link offers.
func (l Lang) Other() Lang {
	if l == English {
		return Chinese
	}
	return English
}

// Tag is the BCP 47 tag for the html lang attribute: simplified Chinese
// script, so screen readers and fonts pick the right glyphs.
func (l Lang) Tag() string {
	if l == English {
		return "en"
	}
	return "zh-Hans"
}

// matcher prefers Chinese: the first tag is what an unmatched
// Accept-Language gets.
var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// Negotiate picks the page language: an explicit ?lang= wins, then the
// browser's Accept-Language, then Chinese. Bad input of either kind falls
// through to the next rule rather than failing the page.
func Negotiate(query, acceptLanguage string) Lang {
	switch strings.ToLower(strings.TrimSpace(query)) {
	case "zh", "zh-cn", "zh-hans":
		return Chinese
	case "en":
		return English
	}
	if acceptLanguage == "" || len(acceptLanguage) > 256 {
		return Chinese
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Chinese
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No || idx != 1 {
		return Chinese
	}
	return English
}

// ParseLang reads a language parameter strictly: ok is false for anything
// but a language the page speaks.
func ParseLang(s string) (Lang, bool) {
	switch s {
	case string(Chinese):
		return Chinese, true
	case string(English):
		return English, true
	}
	return "", false
}

// bi is one text in both languages.
type bi struct{ zh, en string }

func (b bi) in(l Lang) string {
	if l == English {
		return b.en
	}
	return b.zh
}

// messages are the page's own texts. Keys are stable; a test checks that
// every key the templates use exists and has both languages.
var messages = map[string]bi{
	"site.name":       {"学位授予信息查询", "Degree verification"},
	"site.tagline":    {"核验学位证书的真实性与有效性", "Check that a degree certificate is real and valid"},
	"nav.switch":      {"English", "中文"},
	"nav.switch.hint": {"Switch to English", "切换到中文"},
	"nav.home":        {"返回首页", "Back to the start page"},
	"skip":            {"跳到主要内容", "Skip to main content"},

	"verify.title":   {"按证书编号和姓名查询", "Verify by certificate number and name"},
	"verify.intro":   {"输入学位证书上的证书编号和获得者姓名。两项都对上时，才会显示结果。", "Enter the certificate number printed on the degree certificate and the holder's name. A result appears only when both match."},
	"verify.cert":    {"证书编号", "Certificate number"},
	"verify.cert.h":  {"16 位数字（较早的证书为 6 至 17 位字母和数字）", "16 digits (older certificates: 6 to 17 letters and digits)"},
	"verify.name":    {"姓名", "Name"},
	"verify.name.h":  {"与证书上的姓名一致", "As printed on the certificate"},
	"verify.submit":  {"查询", "Verify"},
	"verify.privacy": {"您输入的姓名只用于比对，不会显示在结果页上。", "The name you enter is only compared, never shown on the result page."},

	"code.title":  {"按核验码查看", "View by verification code"},
	"code.intro":  {"学位获得者可以生成有时限的核验码，与您分享一份报告。", "A degree holder can create a time-limited verification code to share a report with you."},
	"code.label":  {"核验码", "Verification code"},
	"code.hint":   {"由学位获得者提供", "Given to you by the degree holder"},
	"code.submit": {"查看报告", "View report"},

	"result.title":      {"查询结果", "Result"},
	"result.code.title": {"学位获得者分享的报告", "Report shared by the degree holder"},
	"result.valid":      {"有效", "Valid"},
	"result.valid.d":    {"该学位证书已备案，信息如下。", "This degree certificate is on file; its details follow."},
	"result.revoked":    {"已撤销", "Revoked"},
	"result.revoked.d":  {"该学位已被撤销，证书不再有效。", "This degree has been revoked; the certificate is no longer valid."},
	"result.nomatch":    {"未找到匹配的学位", "No matching degree"},
	"result.nomatch.d":  {"没有与该证书编号和姓名同时相符的学位记录。请核对证书编号和姓名后重试。为保护学位获得者，本站不说明是哪一项不符。", "No degree record matches both this certificate number and this name. Check both and try again. To protect degree holders we do not say which of the two did not match."},
	"result.cert":       {"证书编号", "Certificate number"},
	"result.details":    {"学位信息", "Degree details"},
	"result.again":      {"再查一份", "Verify another"},
	"result.checked":    {"查询时间", "Checked at"},
	"result.expires":    {"核验码有效期至", "Code valid until"},
	"result.level":      {"分享范围", "Shared detail"},

	"receiptcheck.title":           {"核验回执", "Check a receipt"},
	"receiptcheck.intro":           {"粘贴或上传本站签发的查询回执（JWS）。本页核验签名是否出自本站公开密钥，并核对回执所指的透明日志叶子是否在最新的签名检查点中。", "Paste or upload a verification receipt (JWS) this site issued. This page checks that it was signed with one of this site's published keys, and that the transparency-log leaf it names is in the newest signed checkpoint."},
	"receiptcheck.paste":           {"粘贴回执", "Paste the receipt"},
	"receiptcheck.upload":          {"或上传回执文件", "Or upload the receipt file"},
	"receiptcheck.submit":          {"核验", "Check"},
	"receiptcheck.result":          {"回执核验结果", "What the check found"},
	"receiptcheck.sig.valid":       {"签名有效", "The signature is valid"},
	"receiptcheck.sig.valid.d":     {"回执由本站的密钥签名，内容未被改动。密钥：", "The receipt was signed with this site's key and has not been changed. Key:"},
	"receiptcheck.sig.invalid":     {"签名无效", "The signature is not valid"},
	"receiptcheck.sig.invalid.d":   {"这不是本站签发的完整回执，或内容已被改动。原因：", "This is not a complete receipt from this site, or it has been changed. Reason:"},
	"receiptcheck.id":              {"回执编号", "Receipt id"},
	"receiptcheck.issued":          {"签发时间", "Issued"},
	"receiptcheck.result.claim":    {"回执所记结果", "Result it records"},
	"receiptcheck.policy":          {"政策版本", "Policy version"},
	"receiptcheck.log":             {"透明日志", "Transparency log"},
	"receiptcheck.leaf":            {"叶子", "leaf"},
	"receiptcheck.log.included":    {"已在最新签名检查点中，包含证明核对无误。", "In the newest signed checkpoint; the inclusion proof checks."},
	"receiptcheck.log.pending":     {"尚未进入签名检查点，请一秒后重试。", "Not in a signed checkpoint yet; try again in a second."},
	"receiptcheck.log.absent":      {"日志中该位置的叶子与回执不符：请保留回执并报告。", "The log's leaf at that place is not the receipt's: keep the receipt and report it."},
	"receiptcheck.log.other_log":   {"回执指向另一份日志。", "The receipt names another log."},
	"receiptcheck.log.unavailable": {"本站暂时无法提供日志证明。", "This site cannot prove log entries right now."},
	"receiptcheck.log.size":        {"该检查点的条目数：", "Entries in that checkpoint:"},
	"receiptcheck.log.none":        {"回执未指明日志叶子（早于透明日志签发）。", "The receipt names no log leaf (issued before the log)."},
	"receiptcheck.scope":           {"以上核验由本站完成。如需独立核验，请使用 degreegate receipt verify 或独立见证者保存的检查点。", "These checks were made by this site. To check independently, use degreegate receipt verify, or checkpoints kept by an independent witness."},
	"receipt.title":                {"签名回执", "Signed receipt"},
	"receipt.intro":                {"回执是本次查询结果的数字签名（JWS），任何人都可以用公开密钥离线核验。", "The receipt is a digital signature (JWS) over this result; anyone can check it offline with the published keys."},
	"receipt.download":             {"下载回执", "Download the receipt"},
	"receipt.keys":                 {"公开密钥", "Published keys"},
	"receipt.show":                 {"显示回执内容", "Show the receipt"},

	"qr.title":       {"二维码", "QR code"},
	"qr.code":        {"扫码打开学位获得者分享的这份报告（核验码有效期内）。", "Scan to open this report the holder shared (while the code is valid)."},
	"qr.page":        {"扫码打开本查询页，证书编号已填好；核验人需自行输入姓名，得到实时结果。", "Scan to open this page with the certificate number filled in; the checker enters the name and gets a live answer."},
	"qr.alt.code":    {"指向核验码报告的二维码", "QR code linking to the shared report"},
	"qr.alt.page":    {"指向查询页的二维码", "QR code linking to the verification page"},
	"privacy.title":  {"为什么有些信息被隐藏", "Why some details are hidden"},
	"privacy.intro":  {"依据《学位授予信息管理工作规程》第二十二条，查询须在有效保护学位获得者个人隐私的前提下进行。", "Article 22 of the degree-conferral information rules allows public queries only while the holder's privacy is effectively protected."},
	"privacy.masked": {"部分显示", "Shown in part"},
	"privacy.hidden": {"不予显示", "Not shown"},
	"privacy.code":   {"这份报告的范围由学位获得者本人选择。", "The degree holder chose what this report shows."},

	"mask.name":            {"只显示姓氏和名字的最后一个字（单字名只显示姓氏）", "only the surname and the last character of the given name (the surname alone for a one-character given name)"},
	"mask.initial":         {"只显示第一个字", "only the first character"},
	"mask.id_number":       {"只显示开头和末尾几位", "only the first and last few characters"},
	"mask.phone":           {"只显示前三位和后四位", "only the first three and last four digits"},
	"mask.email":           {"只显示首字母和域名", "only the first letter and the domain"},
	"mask.date_year":       {"只显示年份", "the year only"},
	"mask.date_year_month": {"只显示年月", "the year and month only"},
	"mask.keyed_hash":      {"以化名代替", "replaced by a pseudonym"},

	"error.title":         {"无法完成查询", "The request could not be completed"},
	"error.400":           {"输入有误，请按提示修改后重试。", "Some input is not valid; please correct it and try again."},
	"error.403":           {"只接受从本站页面提交的查询。", "Queries are accepted only from this site's own page."},
	"error.404":           {"未找到该页面或核验码。核验码可能输错、已被撤回或已过期。", "No such page or code. The code may be mistyped, withdrawn or expired."},
	"error.410":           {"该核验码已过期。请向学位获得者索取新的核验码。", "This code has expired. Ask the degree holder for a new one."},
	"error.403.policy":    {"现行政策已不再允许提供这份报告。", "The current policy no longer allows this report."},
	"error.410.withdrawn": {"学位获得者已撤回该核验码。", "The degree holder has withdrawn this code."},
	"error.413":           {"提交的内容过长。", "What was sent is too long."},
	"error.415":           {"请使用本页的表单提交。", "Please submit through the form on this page."},
	"error.429":           {"查询过于频繁，请稍后再试。", "Too many queries; please wait and try again."},
	"error.429.retry":     {"请在 %d 秒后重试。", "Please try again in %d seconds."},
	"error.503":           {"服务暂时不可用，请稍后再试。为保护个人信息，在无法记录查询日志时不提供查询。", "The service is unavailable for now; please try again later. To protect personal data, no query is answered while it cannot be recorded in the audit trail."},
	"error.500":           {"服务出现内部错误，请稍后再试。", "The service had an internal error; please try again later."},
	"error.field":         {"请检查：", "Please check:"},
	"error.required":      {"必填", "required"},
	"error.cert_shape":    {"应为 16 位数字（较早的证书为 6 至 17 位字母和数字）", "should be 16 digits (older certificates: 6 to 17 letters and digits)"},
	"error.text_invalid":  {"含有不允许的字符或过长", "holds characters that are not allowed, or is too long"},
	"error.code_shape":    {"格式不对", "is not in the right form"},
	"error.field_extra":   {"表单含有多余或重复的项目", "the form holds unknown or repeated fields"},

	"footer.api": {"OpenAPI 文档", "OpenAPI document"},

	"docs.problems.title": {"问题类型", "Problem types"},
	"docs.problems.intro": {"接口出错时以 application/problem+json 回答（RFC 9457）。其中 type 是下列之一，可以据此编程判断；detail 说明怎么办，绝不包含个人数据。", "When a call fails, the answer is application/problem+json (RFC 9457). Its type is one of these, stable for programs to branch on; detail says what to do and never carries personal data."},
	"docs.problems.all":   {"全部问题类型", "All problem types"},
	"docs.problem.intro":  {"接口出错时以 application/problem+json 回答（RFC 9457），其 type 就是本页的地址，可以据此编程判断；detail 说明怎么办，绝不包含个人数据。", "A failed call is answered with application/problem+json (RFC 9457) whose type is this page's address, stable for programs to branch on; detail says what to do and never carries personal data."},
	"docs.status":         {"HTTP 状态", "HTTP status"},
	"docs.uri":            {"类型 URI", "Type URI"},
	"docs.advice":         {"怎么办", "What to do"},
	"docs.api.title":      {"接口参考", "API reference"},
	"docs.api.intro":      {"本页由 /openapi.json 生成，内容为英文。每个接口列出参数、请求示例与响应示例；出错时的 type 见“问题类型”。", "This page is made from /openapi.json. Each operation lists its parameters, a request example and its answers; the types of failed calls are under Problem types."},
	"docs.api.params":     {"参数", "Parameters"},
	"docs.api.required":   {"必填", "required"},
	"docs.api.request":    {"请求示例", "Request example"},
	"docs.api.responses":  {"响应", "Answers"},
	"footer.note":         {"本站不使用 Cookie，也不运行脚本。", "This site sets no cookies and runs no scripts."},
	"print.note":          {"打印于", "Printed from"},
	"print.verified":      {"本页由学位授予信息查询服务生成", "Generated by the degree verification service"},
}

// fieldLabels names every record field of the contract in both languages.
var fieldLabels = map[string]bi{
	"kind":                  {"信息类别", "Record kind"},
	"name":                  {"姓名", "Name"},
	"gender":                {"性别", "Gender"},
	"nationality":           {"国籍", "Nationality"},
	"ethnicity":             {"民族", "Ethnicity"},
	"political_status":      {"政治面貌", "Political affiliation"},
	"birth_date":            {"出生日期", "Date of birth"},
	"id_type":               {"证件类型", "ID document type"},
	"id_number":             {"证件号码", "ID number"},
	"phone":                 {"电话", "Phone"},
	"email":                 {"电子邮箱", "E-mail"},
	"unit_code":             {"学位授予单位代码", "Granting unit code"},
	"unit_name":             {"学位授予单位", "Degree-granting unit"},
	"president_name":        {"校（院）长", "President"},
	"committee_chair_name":  {"学位评定委员会主席", "Degree committee chair"},
	"degree_level":          {"学位级别", "Degree level"},
	"degree_type":           {"学位类型", "Degree type"},
	"degree_category":       {"学科门类（专业学位类别）", "Degree category"},
	"discipline_code":       {"学科专业代码", "Discipline code"},
	"discipline_name":       {"学科专业", "Discipline"},
	"conferral_date":        {"授予日期", "Date conferred"},
	"certificate_number":    {"证书编号", "Certificate number"},
	"resolution_number":     {"授予决议编号", "Resolution number"},
	"certificate_style":     {"证书式样", "Certificate style"},
	"supervisor_name":       {"导师", "Supervisor"},
	"enrolment_month":       {"入学年月", "Enrolled"},
	"student_number":        {"学号", "Student number"},
	"study_mode":            {"学习方式", "Study mode"},
	"graduation_month":      {"毕业年月", "Graduated"},
	"application_number":    {"申请号", "Application number"},
	"application_month":     {"申请年月", "Applied"},
	"training_unit":         {"培养单位", "Training unit"},
	"programme_years":       {"学制（年）", "Programme length (years)"},
	"study_form":            {"学习形式", "Form of study"},
	"thesis_title":          {"论文题目", "Thesis title"},
	"thesis_keywords":       {"论文关键词", "Thesis keywords"},
	"thesis_topic_source":   {"论文选题来源", "Thesis topic source"},
	"thesis_classified":     {"论文是否涉密", "Thesis classified"},
	"photo_ref":             {"照片", "Photo"},
	"status":                {"状态", "Status"},
	"revoked_on":            {"撤销日期", "Revoked on"},
	"revocation_resolution": {"撤销决定编号", "Revocation resolution"},
	"revocation_reason":     {"撤销原因", "Revocation reason"},
}

// valueLabels translates the coded values a disclosure may hold, per
// field; anything not listed is shown as stored (unit and discipline
// names are Chinese proper names and stay so in English too).
var valueLabels = map[string]map[string]bi{
	"kind": {
		// Art. 9's three kinds of holder, named apart from the degree
		// level, which a result shows beside them.
		"postgraduate": {"研究生", "Postgraduate"},
		"equivalent":   {"同等学力人员", "Equivalent-level applicant"},
		"bachelor":     {"本科生", "Undergraduate"},
	},
	"gender": {"1": {"男", "Male"}, "2": {"女", "Female"}},
	"id_type": {
		"resident_id":          {"居民身份证", "Resident ID card"},
		"passport":             {"护照", "Passport"},
		"hk_macao_permit":      {"港澳居民来往内地通行证", "Hong Kong/Macao permit"},
		"taiwan_permit":        {"台湾居民来往大陆通行证", "Taiwan permit"},
		"foreign_permanent_id": {"外国人永久居留身份证", "Foreign permanent resident ID"},
		"other":                {"其他", "Other"},
	},
	"degree_level": {
		"doctor":   {"博士", "Doctor"},
		"master":   {"硕士", "Master"},
		"bachelor": {"学士", "Bachelor"},
	},
	"degree_type": {
		"academic":     {"学术学位", "Academic degree"},
		"professional": {"专业学位", "Professional degree"},
	},
	"study_mode": {
		"full_time": {"全日制", "Full-time"},
		"part_time": {"非全日制", "Part-time"},
	},
	"status": {
		"valid":   {"有效", "Valid"},
		"revoked": {"已撤销", "Revoked"},
	},
	"thesis_classified": {"true": {"是", "Yes"}, "false": {"否", "No"}},
}

// T returns the message for key in l; a missing key shows as itself so a
// slip is visible on the page and caught by the tests.
func T(l Lang, key string) string {
	if m, ok := messages[key]; ok {
		return m.in(l)
	}
	return key
}

// FieldLabel names a field in l, falling back to the contract name.
func FieldLabel(l Lang, field string) string {
	if b, ok := fieldLabels[field]; ok {
		return b.in(l)
	}
	return field
}

// ValueLabel shows a field's value in l.
func ValueLabel(l Lang, field, value string) string {
	if b, ok := valueLabels[field][value]; ok {
		return b.in(l)
	}
	return value
}
