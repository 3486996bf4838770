package synth

// Names. Han names: a surname drawn by its frequency (the common ones
// roughly after the 2020 census tables, compound surnames rare), then one
// or two given-name characters leaning to the holder's gender. Minority
// names follow each tradition's shape: Uyghur and Kazakh "given·father's
// name" with the interpunct U+00B7, Tibetan two-part names, Mongolian
// single or compound names, Yi clan name + given name. Foreign holders
// carry the Latin name of their passport.

type hanChar struct {
	s, pinyin string
	w         uint32 // weight (surnames only)
}

var surnames = []hanChar{
	{"王", "wang", 710}, {"李", "li", 700}, {"张", "zhang", 660}, {"刘", "liu", 540}, {"陈", "chen", 460},
	{"杨", "yang", 310}, {"黄", "huang", 220}, {"赵", "zhao", 200}, {"吴", "wu", 190}, {"周", "zhou", 190},
	{"徐", "xu", 130}, {"孙", "sun", 130}, {"马", "ma", 120}, {"朱", "zhu", 120}, {"胡", "hu", 110},
	{"郭", "guo", 110}, {"何", "he", 110}, {"林", "lin", 100}, {"高", "gao", 100}, {"罗", "luo", 90},
	{"郑", "zheng", 90}, {"梁", "liang", 80}, {"谢", "xie", 80}, {"宋", "song", 70}, {"唐", "tang", 70},
	{"许", "xu", 70}, {"韩", "han", 65}, {"冯", "feng", 65}, {"邓", "deng", 65}, {"曹", "cao", 63},
	{"彭", "peng", 60}, {"曾", "zeng", 60}, {"肖", "xiao", 60}, {"田", "tian", 55}, {"董", "dong", 55},
	{"潘", "pan", 55}, {"袁", "yuan", 50}, {"蔡", "cai", 50}, {"蒋", "jiang", 50}, {"余", "yu", 50},
	{"于", "yu", 50}, {"杜", "du", 50}, {"叶", "ye", 45}, {"程", "cheng", 45}, {"魏", "wei", 45},
	{"苏", "su", 45}, {"吕", "lv", 45}, {"丁", "ding", 42}, {"任", "ren", 42}, {"卢", "lu", 40},
	{"姚", "yao", 40}, {"沈", "shen", 40}, {"钟", "zhong", 40}, {"姜", "jiang", 40}, {"崔", "cui", 38},
	{"谭", "tan", 38}, {"陆", "lu", 37}, {"范", "fan", 36}, {"汪", "wang", 36}, {"廖", "liao", 35},
	{"石", "shi", 35}, {"金", "jin", 34}, {"韦", "wei", 33}, {"贾", "jia", 33}, {"夏", "xia", 32},
	{"付", "fu", 32}, {"方", "fang", 32}, {"邹", "zou", 30}, {"熊", "xiong", 30}, {"白", "bai", 30},
	{"孟", "meng", 30}, {"秦", "qin", 29}, {"邱", "qiu", 29}, {"侯", "hou", 29}, {"江", "jiang", 28},
	{"尹", "yin", 28}, {"薛", "xue", 27}, {"闫", "yan", 27}, {"段", "duan", 26}, {"雷", "lei", 26},
	{"龙", "long", 25}, {"黎", "li", 25}, {"史", "shi", 25}, {"陶", "tao", 24}, {"贺", "he", 24},
	{"毛", "mao", 24}, {"郝", "hao", 23}, {"顾", "gu", 23}, {"龚", "gong", 22}, {"邵", "shao", 22},
	{"万", "wan", 22}, {"覃", "qin", 21}, {"武", "wu", 21}, {"钱", "qian", 21}, {"戴", "dai", 20},
	{"严", "yan", 20}, {"莫", "mo", 20}, {"孔", "kong", 20}, {"向", "xiang", 19}, {"常", "chang", 19},
	{"汤", "tang", 19}, {"康", "kang", 18}, {"易", "yi", 18}, {"乔", "qiao", 17}, {"赖", "lai", 17},
	{"文", "wen", 17}, {"施", "shi", 16}, {"洪", "hong", 16}, {"牛", "niu", 15}, {"葛", "ge", 14},
	// Compound surnames: rare, but they exist and break naive "first
	// character is the surname" code.
	{"欧阳", "ouyang", 4}, {"司马", "sima", 2}, {"诸葛", "zhuge", 2}, {"上官", "shangguan", 2},
	{"司徒", "situ", 2}, {"皇甫", "huangfu", 1}, {"慕容", "murong", 1}, {"令狐", "linghu", 1},
	{"夏侯", "xiahou", 1}, {"东方", "dongfang", 1},
}

var givenMale = []hanChar{
	{"伟", "wei", 0}, {"强", "qiang", 0}, {"磊", "lei", 0}, {"军", "jun", 0}, {"勇", "yong", 0},
	{"杰", "jie", 0}, {"涛", "tao", 0}, {"斌", "bin", 0}, {"超", "chao", 0}, {"明", "ming", 0},
	{"刚", "gang", 0}, {"平", "ping", 0}, {"辉", "hui", 0}, {"鹏", "peng", 0}, {"华", "hua", 0},
	{"飞", "fei", 0}, {"鑫", "xin", 0}, {"波", "bo", 0}, {"宇", "yu", 0}, {"浩", "hao", 0},
	{"凯", "kai", 0}, {"健", "jian", 0}, {"俊", "jun", 0}, {"帆", "fan", 0}, {"帅", "shuai", 0},
	{"旭", "xu", 0}, {"宁", "ning", 0}, {"龙", "long", 0}, {"林", "lin", 0}, {"阳", "yang", 0},
	{"建", "jian", 0}, {"亮", "liang", 0}, {"成", "cheng", 0}, {"峰", "feng", 0}, {"志", "zhi", 0},
	{"新", "xin", 0}, {"博", "bo", 0}, {"文", "wen", 0}, {"晨", "chen", 0}, {"昊", "hao", 0},
	{"天", "tian", 0}, {"轩", "xuan", 0}, {"睿", "rui", 0}, {"泽", "ze", 0}, {"航", "hang", 0},
	{"然", "ran", 0}, {"毅", "yi", 0}, {"东", "dong", 0}, {"国", "guo", 0}, {"海", "hai", 0},
	{"振", "zhen", 0}, {"晓", "xiao", 0}, {"嘉", "jia", 0}, {"子", "zi", 0}, {"一", "yi", 0},
	{"家", "jia", 0}, {"铭", "ming", 0}, {"宏", "hong", 0}, {"翔", "xiang", 0}, {"立", "li", 0},
	{"永", "yong", 0}, {"鸿", "hong", 0}, {"森", "sen", 0}, {"豪", "hao", 0}, {"思", "si", 0},
}

var givenFemale = []hanChar{
	{"芳", "fang", 0}, {"娜", "na", 0}, {"敏", "min", 0}, {"静", "jing", 0}, {"丽", "li", 0},
	{"艳", "yan", 0}, {"娟", "juan", 0}, {"霞", "xia", 0}, {"秀", "xiu", 0}, {"玲", "ling", 0},
	{"燕", "yan", 0}, {"萍", "ping", 0}, {"红", "hong", 0}, {"婷", "ting", 0}, {"雪", "xue", 0},
	{"琳", "lin", 0}, {"颖", "ying", 0}, {"倩", "qian", 0}, {"洁", "jie", 0}, {"琴", "qin", 0},
	{"云", "yun", 0}, {"莉", "li", 0}, {"兰", "lan", 0}, {"晶", "jing", 0}, {"欣", "xin", 0},
	{"怡", "yi", 0}, {"佳", "jia", 0}, {"雨", "yu", 0}, {"萱", "xuan", 0}, {"思", "si", 0},
	{"梦", "meng", 0}, {"诗", "shi", 0}, {"涵", "han", 0}, {"悦", "yue", 0}, {"彤", "tong", 0},
	{"瑶", "yao", 0}, {"妍", "yan", 0}, {"蕾", "lei", 0}, {"璐", "lu", 0}, {"薇", "wei", 0},
	{"慧", "hui", 0}, {"晓", "xiao", 0}, {"文", "wen", 0}, {"子", "zi", 0}, {"可", "ke", 0},
	{"一", "yi", 0}, {"嘉", "jia", 0}, {"丹", "dan", 0}, {"玉", "yu", 0}, {"凤", "feng", 0},
	{"春", "chun", 0}, {"月", "yue", 0}, {"雅", "ya", 0}, {"琪", "qi", 0}, {"冰", "bing", 0},
	{"露", "lu", 0}, {"婉", "wan", 0}, {"清", "qing", 0}, {"宁", "ning", 0},
}

var (
	uyghurMale = []string{"买买提", "艾力", "阿不都热合曼", "吐尔逊", "艾合买提", "依明", "努尔买买提", "热合曼",
		"阿迪力", "艾尔肯", "伊力哈木", "玉素甫", "阿里木", "吾斯曼", "亚森", "肉孜", "阿卜杜拉", "麦麦提", "艾山", "库尔班"}
	uyghurFemale = []string{"阿依古丽", "古丽娜尔", "迪丽拜尔", "热依拉", "帕提古丽", "阿娜尔", "古再丽努尔", "米热古丽",
		"祖丽菲亚", "努尔古丽", "阿依努尔", "再努尔", "玛依拉", "热孜万古丽", "阿丽米热", "萨尼亚"}
	kazakhMale   = []string{"叶尔兰", "努尔兰", "阿斯哈尔", "叶尔江", "哈力别克", "叶尔波拉提", "别克", "阿曼", "达吾列提", "马合沙提"}
	kazakhFemale = []string{"阿依达娜", "古丽米拉", "阿依江", "沙吾列", "阿依古力", "加娜尔", "巴合提古丽"}
	tibetanMale  = []string{"扎西", "次仁", "多吉", "旦增", "平措", "罗布", "尼玛", "达瓦", "边巴", "索朗", "普布", "格桑", "强巴", "顿珠"}
	tibetanFirst = []string{"格桑", "次仁", "白玛", "尼玛", "达瓦", "央金", "德庆", "益西", "仁增", "拉巴"}
	tibetanFem   = []string{"卓玛", "拉姆", "央宗", "曲珍", "德吉", "达珍", "措姆", "玉珍"}
	mongolFirst  = []string{"哈斯", "额尔敦", "宝音", "阿拉坦", "孟和", "斯琴", "萨仁", "乌云", "娜仁", "其木格", "吉日嘎拉"}
	mongolMale   = []string{"巴特尔", "毕力格", "朝鲁", "巴雅尔", "苏和", "那顺", "乌力吉", "图门", "巴根"}
	mongolFemale = []string{"高娃", "其其格", "塔娜", "图雅", "托娅", "乌兰", "花"}
	yiClan       = []string{"吉克", "阿苏", "沙马", "俄木", "曲比", "阿的", "海来", "马海", "吉木", "阿尔", "瓦扎", "勒格"}
	yiMale       = []string{"拉则", "木呷", "日古", "伍呷", "石布", "尔布", "阿牛", "拉铁", "曲布", "子哈"}
	yiFemale     = []string{"阿依", "阿呷", "阿果", "石莫", "伍各", "阿西", "日哈", "阿支"}
)

// Foreign holders: nationality (GB/T 2659 alpha-3) with a weight and the
// name style of its passport.
type nation struct {
	code  string
	w     uint32
	style int
}

const (
	styleKorean = iota
	styleVietnamese
	styleRussian
	styleEnglish
	styleSouthAsian
	styleJapanese
	styleCentralAsian
	styleThai
)

var nations = []nation{
	{"KOR", 20, styleKorean}, {"PAK", 12, styleSouthAsian}, {"VNM", 8, styleVietnamese}, {"THA", 8, styleThai},
	{"RUS", 8, styleRussian}, {"USA", 6, styleEnglish}, {"IND", 5, styleSouthAsian}, {"JPN", 5, styleJapanese},
	{"KAZ", 5, styleCentralAsian}, {"MNG", 4, styleCentralAsian}, {"LAO", 4, styleThai}, {"NPL", 3, styleSouthAsian},
	{"GBR", 2, styleEnglish}, {"CAN", 2, styleEnglish}, {"AUS", 2, styleEnglish}, {"UZB", 2, styleCentralAsian},
}

// latinNames[style] = {surnames, male given names, female given names}.
var latinNames = [...][3][]string{
	styleKorean:       {{"KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "CHO", "YOON"}, {"MINJUN", "JIHOON", "DOYUN", "SEOJUN", "HYUNWOO"}, {"SEOYEON", "JIWOO", "HAEUN", "YUNA", "MINSEO"}},
	styleVietnamese:   {{"NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "VU"}, {"VAN AN", "VAN MINH", "DUC THANH", "QUANG HUY"}, {"THI HUONG", "THI LAN", "THI MAI", "NGOC ANH"}},
	styleRussian:      {{"IVANOV", "SMIRNOV", "PETROV", "KUZNETSOV", "POPOV", "SOKOLOV"}, {"ALEKSEI", "DMITRII", "IVAN", "SERGEI", "ANDREI"}, {"ANNA", "OLGA", "ELENA", "MARIIA", "TATIANA"}},
	styleEnglish:      {{"SMITH", "JOHNSON", "BROWN", "WILLIAMS", "JONES", "MILLER", "WILSON"}, {"JOHN", "MICHAEL", "DAVID", "JAMES", "DANIEL"}, {"EMILY", "SARAH", "JESSICA", "EMMA", "OLIVIA"}},
	styleSouthAsian:   {{"KHAN", "AHMED", "IQBAL", "SHARMA", "SINGH", "RAZA", "HUSSAIN"}, {"MUHAMMAD ALI", "USMAN", "HASSAN", "RAHUL", "ARJUN"}, {"AYESHA", "FATIMA", "ZAINAB", "PRIYA", "ANJALI"}},
	styleJapanese:     {{"SATO", "SUZUKI", "TAKAHASHI", "TANAKA", "WATANABE", "ITO"}, {"HARUTO", "SOTA", "YUTO", "KENTA"}, {"YUI", "AOI", "SAKURA", "HINA"}},
	styleCentralAsian: {{"NURLANOV", "SAPAROV", "BATBAYAR", "ERDENE", "KARIMOV", "TURSUNOV"}, {"ASKAR", "DAULET", "GANBOLD", "TEMUULEN", "BEKZOD"}, {"AIGERIM", "DANA", "ENKHJARGAL", "NILUFAR", "MADINA"}},
	styleThai:         {{"SAETANG", "SRISUK", "PHOMMACHANH", "KEOMANY", "CHAIYAPHUM"}, {"SOMCHAI", "ANAN", "KITTI", "SOUKSAVANH"}, {"SUDA", "NARIN", "MALI", "KHAMLA"}},
}

// nameStyle is the tradition a person's name follows.
type nameStyle int

const (
	nameHan nameStyle = iota
	nameUyghur
	nameKazakh
	nameTibetan
	nameMongol
	nameYi
	nameForeign
)

// appendHanName appends a Han name to b and its pinyin (for the e-mail
// local part) to py; older holders more often have one-character given
// names.
func appendHanName(b, py []byte, s *stream, t *nameTables, female bool, birthYear int) ([]byte, []byte) {
	sn := surnames[t.surnames.draw(s)]
	b = append(b, sn.s...)
	py = append(py, sn.pinyin...)
	pool := givenMale
	if female {
		pool = givenFemale
	}
	single := 200_000
	if birthYear < 1980 {
		single = 400_000
	}
	first := pick(s, pool)
	b = append(b, first.s...)
	py = append(py, first.pinyin...)
	if !s.chance(single) {
		second := pick(s, pool)
		if second.s == first.s && !(female && s.chance(300_000)) {
			second = pool[(s.intn(len(pool)-1)+1+indexOf(pool, first.s))%len(pool)]
		}
		b = append(b, second.s...)
		py = append(py, second.pinyin...)
	}
	return b, py
}

func indexOf(pool []hanChar, s string) int {
	for i := range pool {
		if pool[i].s == s {
			return i
		}
	}
	return 0
}

// nameTables holds the precomputed weights of names.
type nameTables struct {
	surnames weighted
	nations  weighted
}

func newNameTables() nameTables {
	ws := make([]uint32, len(surnames))
	for i, s := range surnames {
		ws[i] = s.w
	}
	ns := make([]uint32, len(nations))
	for i, n := range nations {
		ns[i] = n.w
	}
	return nameTables{surnames: newWeighted(ws), nations: newWeighted(ns)}
}

// appendMinorityName appends a name in the given tradition.
func appendMinorityName(b []byte, s *stream, style nameStyle, female bool) []byte {
	switch style {
	case nameUyghur:
		given := uyghurMale
		if female {
			given = uyghurFemale
		}
		b = append(b, pick(s, given)...)
		b = append(b, "·"...)
		return append(b, pick(s, uyghurMale)...)
	case nameKazakh:
		given := kazakhMale
		if female {
			given = kazakhFemale
		}
		b = append(b, pick(s, given)...)
		b = append(b, "·"...)
		return append(b, pick(s, kazakhMale)...)
	case nameTibetan:
		if female {
			b = append(b, pick(s, tibetanFirst)...)
			return append(b, pick(s, tibetanFem)...)
		}
		i := s.intn(len(tibetanMale))
		j := (i + 1 + s.intn(len(tibetanMale)-1)) % len(tibetanMale)
		b = append(b, tibetanMale[i]...)
		return append(b, tibetanMale[j]...)
	case nameMongol:
		second := mongolMale
		if female {
			second = mongolFemale
		}
		if s.chance(400_000) {
			return append(b, pick(s, second)...)
		}
		b = append(b, pick(s, mongolFirst)...)
		return append(b, pick(s, second)...)
	case nameYi:
		given := yiMale
		if female {
			given = yiFemale
		}
		b = append(b, pick(s, yiClan)...)
		return append(b, pick(s, given)...)
	}
	return b
}

// appendForeignName appends a passport-style Latin name, surname first.
func appendForeignName(b []byte, s *stream, style int, female bool) []byte {
	n := &latinNames[style]
	b = append(b, pick(s, n[0])...)
	if female && style == styleRussian {
		b = append(b, 'A') // IVANOV, IVANOVA
	}
	b = append(b, ' ')
	given := n[1]
	if female {
		given = n[2]
	}
	return append(b, pick(s, given)...)
}
