package gateway

import (
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/gateway/web"
)

// A problem's type is an absolute URI (RFC 9457, 3.1.1) on this gateway,
// and it resolves: GET /problems/{name} is a page, in Chinese and English,
// saying what the type means and what to do, and GET /problems lists
// them all. problemDocs is that text; the English of what to do about a
// client problem is guidance's, which also fills answers' detail.

// problemDoc describes one problem type.
type problemDoc struct {
	status int
	// title is what the type means, in Chinese and English (an answer's
	// own title may say more, as "Send a form" does).
	title [2]string
	// adviceZh is guidance's advice in Chinese; a server problem's advice
	// is serverAdvice.
	adviceZh string
}

// serverAdvice is what to do about any 5xx: the client did nothing
// wrong, and nothing was disclosed or counted.
var serverAdvice = [2]string{
	"这不是您的请求有误。本次没有披露或计入任何内容；请按 Retry-After 给出的秒数稍后重试，若持续出现请联系运营方。",
	"Your request was not at fault. Nothing was disclosed or counted; try again after the seconds Retry-After gives, and tell the operator if it persists.",
}

var problemDocs = map[string]problemDoc{
	"/problems/not-found":               {fiber.StatusNotFound, [2]string{"没有这个资源", "No such resource"}, "没有这个资源；全部接口见 /openapi.json 与 /docs/api"},
	"/problems/method-not-allowed":      {fiber.StatusMethodNotAllowed, [2]string{"该路径不接受这个方法", "This path does not take this method"}, "请使用 Allow 响应头列出的方法"},
	"/problems/rate-limited":            {fiber.StatusTooManyRequests, [2]string{"请求过于频繁", "Too many requests"}, "请等待 Retry-After 给出的秒数；RateLimit 响应头说明每项额度还剩多少"},
	"/problems/malformed-json":          {fiber.StatusBadRequest, [2]string{"请求体不是该接口接受的 JSON", "The body is not the JSON this route takes"}, "请发送一个 JSON 对象，字段以接口文档为准"},
	"/problems/unsupported-media-type":  {fiber.StatusUnsupportedMediaType, [2]string{"不支持的内容类型", "Unsupported media type"}, "请使用接口文档规定的 Content-Type"},
	"/problems/invalid-request":         {fiber.StatusBadRequest, [2]string{"请求字段无效", "Request fields are invalid"}, "errors 中的每一项写明字段及其违反的规则"},
	"/problems/body-too-large":          {fiber.StatusRequestEntityTooLarge, [2]string{"请求体过大", "The body is too large"}, "请发送更小的请求体；批量查询与表格有明确的大小上限"},
	"/problems/http":                    {fiber.StatusBadRequest, [2]string{"无法按 HTTP 读取该请求", "The request is not readable HTTP"}, "该请求无法按 HTTP 读取"},
	"/problems/unauthenticated":         {fiber.StatusUnauthorized, [2]string{"需要持有者令牌", "A bearer token is required"}, "请以 Authorization: Bearer 发送受信任签发方签发的令牌"},
	"/problems/invalid-token":           {fiber.StatusUnauthorized, [2]string{"令牌被拒绝", "The token was refused"}, "请向身份提供方获取新令牌；若给出原因，它指明未通过的检查"},
	"/problems/wrong-audience":          {fiber.StatusForbidden, [2]string{"该令牌不是签发给此接口的", "The token is not for this interface"}, "请使用签发给此接口（机关、持有人、研究机构或主管部门）的令牌"},
	"/problems/cross-site":              {fiber.StatusForbidden, [2]string{"跨站提交的表单", "Cross-site form post"}, "请从本站自己的页面提交表单"},
	"/problems/code-not-found":          {fiber.StatusNotFound, [2]string{"没有这个分享码", "No such share code"}, "请按持有人给出的样子核对分享码；字母不区分大小写"},
	"/problems/code-expired":            {fiber.StatusGone, [2]string{"分享码已过期", "The share code has expired"}, "请向持有人索取新的分享码"},
	"/problems/code-withdrawn":          {fiber.StatusGone, [2]string{"持有人已撤回分享码", "The holder withdrew the share code"}, "请向持有人索取新的分享码"},
	"/problems/certificate-not-found":   {fiber.StatusNotFound, [2]string{"您的学位中没有这个证书编号", "None of your degrees has this certificate number"}, "请从 GET /v1/holder/degrees 列出的证书编号中选择"},
	"/problems/too-many-codes":          {fiber.StatusConflict, [2]string{"未过期的分享码已达政策上限", "As many unexpired codes as the policy allows"}, "请撤回不再需要的分享码，或等待其过期"},
	"/problems/quota-exhausted":         {fiber.StatusTooManyRequests, [2]string{"单位当日额度已用完", "The organisation's daily quota is used up"}, "单位的每日额度在北京时间零点更新"},
	"/problems/token-replayed":          {fiber.StatusUnauthorized, [2]string{"一次性令牌已被使用", "The single-use token was used before"}, "每次调用请签发新的一次性令牌（新的 jti）"},
	"/problems/jti-required":            {fiber.StatusUnauthorized, [2]string{"批量查询需要一次性令牌", "A batch needs a single-use token"}, "批量查询（包括上传表格）需要带 jti 的一次性令牌，请向身份提供方申请"},
	"/problems/batch-too-large":         {fiber.StatusBadRequest, [2]string{"批量超过政策上限", "The batch is larger than the policy allows"}, "请拆分批量；已知时 detail 给出政策上限"},
	"/problems/dataset-expired":         {fiber.StatusGone, [2]string{"数据集使用期已满，文件已删除", "The dataset's term has run out; its files are deleted"}, "请申请新的数据集；过期文件已删除"},
	"/problems/dataset-not-ready":       {fiber.StatusConflict, [2]string{"数据集尚未生成", "The dataset is not built"}, "请等待数据集状态变为 built"},
	"/problems/dataset-already-decided": {fiber.StatusConflict, [2]string{"申请已有决定", "The request was decided already"}, "该申请已被批准或拒绝；读取它可查看决定"},
	"/problems/self-decision":           {fiber.StatusForbidden, [2]string{"须由另一名工作人员决定", "A second official must decide"}, "须由另一名工作人员批准或拒绝该申请"},
	"/problems/no-checkpoint":           {fiber.StatusNotFound, [2]string{"日志尚未签署检查点", "The log has signed no checkpoint yet"}, "日志在第一条记录后一秒内签署检查点；请稍后再试"},
	"/problems/receipt-not-found":       {fiber.StatusNotFound, [2]string{"该证书编号下没有这个回执", "No such receipt for this certificate number"}, "请核对回执编号（jti）及其所属的证书编号"},
	"/problems/log-range":               {fiber.StatusBadRequest, [2]string{"已签署的树中没有该叶子或大小", "No signed tree has that leaf or size"}, "请在最新检查点范围内指定叶子和树大小"},
	"/problems/filing-not-allowed":      {fiber.StatusForbidden, [2]string{"您的单位或职责不能执行此操作", "Your organisation or duty may not do this"}, "code 指明依据的规则：单位只处理本单位的记录，省级只处理本地区的记录，审核人不得是该批的采集人"},
	"/problems/filing-wrong-state":      {fiber.StatusConflict, [2]string{"记录当前状态下不能执行此操作", "Not allowed in the record's present state"}, "请读取该批次查看记录状态；此操作适用于其他状态"},
	"/problems/submission-late":         {fiber.StatusConflict, [2]string{"已过报送期限", "The submission deadline has passed"}, "请说明理由申请延期报送（POST …/late），经省级批准后再报送"},
	"/problems/state-changed":           {fiber.StatusConflict, [2]string{"他人已先改变了这些记录", "Someone else changed these records first"}, "他人已先处理这些记录；请重新读取该批次后再作决定"},
	"/problems/rows-rejected":           {fiber.StatusUnprocessableEntity, [2]string{"文件中有行被拒绝", "Rows of the file were rejected"}, "请更正 rejections 列出的每一行（行号、字段、代码）后重新上传；未保存任何内容"},
	"/problems/filing-refused":          {fiber.StatusUnprocessableEntity, [2]string{"部分记录的操作被拒绝", "The action was refused for some records"}, "refusals 列出每条记录及原因；可只对其他记录操作，或先解决每项拒绝"},
	"/problems/upload-offset":           {fiber.StatusConflict, [2]string{"分段不在上传当前位置", "The part is not where the upload stands"}, "请按 Upload-Offset 响应头给出的位置发送分段"},
	"/problems/document-not-pdf":        {fiber.StatusUnsupportedMediaType, [2]string{"决议文件不是 PDF", "The resolution document is not a PDF"}, "请以 PDF 文件上传学位授予决议的扫描件"},
	"/problems/unknown-audience":        {fiber.StatusForbidden, [2]string{"政策未描述该受众", "The policy describes no such audience"}, "请使用政策描述的受众的令牌"},
	"/problems/unknown-scope":           {fiber.StatusForbidden, [2]string{"政策未定义该权限范围", "The policy defines no such scope"}, "请申请政策为您的受众定义的权限范围"},
	"/problems/scope-denied":            {fiber.StatusForbidden, [2]string{"令牌缺少所需权限范围", "The token lacks the scope"}, "您的令牌缺少此接口需要的权限范围，请向身份提供方申请"},
	"/problems/org-denied":              {fiber.StatusForbidden, [2]string{"单位无权使用", "The organisation may not use this"}, "按照政策，您的单位不得使用该权限范围或用途"},
	"/problems/purpose-required":        {fiber.StatusBadRequest, [2]string{"需要声明用途", "A purpose is required"}, "请声明政策对您的单位接受的用途"},
	"/problems/purpose-rejected":        {fiber.StatusForbidden, [2]string{"该用途不被接受", "The purpose is not accepted"}, "请声明政策对您的单位接受的用途"},
	"/problems/purpose-forbidden":       {fiber.StatusForbidden, [2]string{"规定禁止该用途", "The rules forbid this purpose"}, "《学位授予信息管理工作规定》禁止该用途（第二十四条）"},
	"/problems/level-rejected":          {fiber.StatusBadRequest, [2]string{"政策不提供该详细程度", "The policy offers no such level"}, "请选择政策为分享码提供的详细程度"},
	"/problems/validity-out-of-bounds":  {fiber.StatusBadRequest, [2]string{"有效期超出政策范围", "The validity is out of the policy's bounds"}, "请在政策范围内选择有效期"},
	"/problems/dataset-rule":            {fiber.StatusBadRequest, [2]string{"数据集申请不符合规则", "The dataset request breaks a rule"}, "请按 detail 指明的规则修改申请"},
	"/problems/denied":                  {fiber.StatusForbidden, [2]string{"政策拒绝", "The policy refuses this"}, "政策拒绝此请求；可说明时 detail 给出原因"},

	// Server problems: serverAdvice says what to do.
	"/problems/internal":                 {fiber.StatusInternalServerError, [2]string{"内部错误", "Internal error"}, ""},
	"/problems/not-ready":                {fiber.StatusServiceUnavailable, [2]string{"服务尚未就绪", "Not ready"}, ""},
	"/problems/audit-unavailable":        {fiber.StatusServiceUnavailable, [2]string{"审计记录不可用：未经审计不提供个人数据", "The audit trail is unavailable: nothing is shown unaudited"}, ""},
	"/problems/tokens-unavailable":       {fiber.StatusServiceUnavailable, [2]string{"未配置令牌验证", "Token verification is not configured"}, ""},
	"/problems/codes-unavailable":        {fiber.StatusServiceUnavailable, [2]string{"分享码不可用", "Share codes are not available"}, ""},
	"/problems/access-log-unavailable":   {fiber.StatusServiceUnavailable, [2]string{"查询记录不可用", "The access log is not available"}, ""},
	"/problems/quota-unavailable":        {fiber.StatusServiceUnavailable, [2]string{"无法计算每日额度：不提供未计量的查询", "The daily quota cannot be counted: nothing is served uncounted"}, ""},
	"/problems/replay-check-unavailable": {fiber.StatusServiceUnavailable, [2]string{"无法检查令牌是否重复使用：批量被拒绝", "Token reuse cannot be checked: the batch is refused"}, ""},
	"/problems/datasets-unavailable":     {fiber.StatusServiceUnavailable, [2]string{"此处未配置研究数据集", "Research datasets are not configured here"}, ""},
	"/problems/log-unavailable":          {fiber.StatusServiceUnavailable, [2]string{"此处不提供透明日志", "The transparency log is not served here"}, ""},
	"/problems/audit-search-unavailable": {fiber.StatusServiceUnavailable, [2]string{"此处无法检索审计记录", "The audit trail cannot be searched here"}, ""},
	"/problems/filing-busy":              {fiber.StatusServiceUnavailable, [2]string{"正在读取的批次过多", "Too many batches are being read"}, ""},
	"/problems/filing-unavailable":       {fiber.StatusServiceUnavailable, [2]string{"此处未配置学位授予信息报送", "The filing workflow is not configured here"}, ""},
	"/problems/registry-unavailable":     {fiber.StatusServiceUnavailable, [2]string{"无法连接学位信息库", "The registry cannot be reached"}, ""},
	"/problems/sheets-busy":              {fiber.StatusServiceUnavailable, [2]string{"正在读取的表格过多", "Too many spreadsheets are being read"}, ""},
	"/problems/timeout":                  {fiber.StatusServiceUnavailable, [2]string{"学位信息库未及时响应", "The registry did not answer in time"}, ""},
}

// problemTypeURI is a problem type as answers carry it: absolute on base
// (the gateway's public address), or as it is when base is unknown.
func problemTypeURI(base, typ string) string {
	if base == "" || !strings.HasPrefix(typ, "/") {
		return typ
	}
	return base + typ
}

// docPage is one type's page in lang; ok is false for an unknown type.
func docPage(base, typ string, lang web.Lang) (web.ProblemDoc, bool) {
	d, ok := problemDocs[typ]
	if !ok {
		return web.ProblemDoc{}, false
	}
	i := 0
	if lang == web.English {
		i = 1
	}
	advice := [2]string{d.adviceZh, guidance[typ]}
	if d.status >= 500 {
		advice = serverAdvice
	}
	return web.ProblemDoc{
		Name:   strings.TrimPrefix(typ, "/problems/"),
		URI:    problemTypeURI(base, typ),
		Status: d.status,
		Title:  d.title[i],
		Advice: sentence(advice[i]),
	}, true
}

// sentence is advice written as a detail ("wait the seconds…") begun as
// a sentence on a page.
func sentence(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// handleProblemIndex is GET /problems: every type, by status then name.
func (p *webPage) handleProblemIndex(c *fiber.Ctx) error {
	lang := web.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
	page := p.newPage(lang, "/problems")
	base := p.s.baseURL(c)
	docs := make([]web.ProblemDoc, 0, len(problemDocs))
	for typ := range problemDocs {
		d, _ := docPage(base, typ, lang)
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool {
		if docs[i].Status != docs[j].Status {
			return docs[i].Status < docs[j].Status
		}
		return docs[i].Name < docs[j].Name
	})
	page.Docs = &web.Docs{Problems: docs}
	return p.sendDoc(c, page)
}

// handleProblemPage is GET /problems/{name}: what a type's URI names.
func (p *webPage) handleProblemPage(c *fiber.Ctx) error {
	name := c.Params("name")
	lang := web.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
	d, ok := docPage(p.s.baseURL(c), "/problems/"+name, lang)
	if !ok {
		return errNotFound
	}
	page := p.newPage(lang, "/problems/"+d.Name)
	page.Docs = &web.Docs{Problem: &d}
	return p.sendDoc(c, page)
}

// sendDoc sends a documentation page: it holds no personal data, so
// unlike the verification pages it may be cached a while.
func (p *webPage) sendDoc(c *fiber.Ctx, page *web.Page) error {
	if err := p.send(c, fiber.StatusOK, page); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return nil
}
