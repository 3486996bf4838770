package synth

// Thesis titles from templates: a method or perspective (M), an object
// (O) and a task (T) of the discipline's broad group, put into one of the
// group's title patterns. The keywords are the parts of the title plus
// the discipline's name, as real keyword lists mostly are.

type thesisGroup struct {
	m, o, t   []string
	templates []string // % marks M, O and T in that order of appearance
}

const (
	groupEngineering = iota
	groupScience
	groupMedicine
	groupAgriculture
	groupEconomics
	groupLaw
	groupEducation
	groupHumanities
	groupArts
)

// thesisGroupOf maps a discipline category (two digits) to its group.
var thesisGroupOf = [...]int{
	1: groupHumanities, 2: groupEconomics, 3: groupLaw, 4: groupEducation, 5: groupHumanities,
	6: groupHumanities, 7: groupScience, 8: groupEngineering, 9: groupAgriculture, 10: groupMedicine,
	11: groupLaw, 12: groupEconomics, 13: groupArts, 14: groupEngineering,
}

// Templates use the markers M, O and T (ASCII, never part of a Chinese
// phrase) for the three parts.
var thesisGroups = [...]thesisGroup{
	groupEngineering: {
		m: []string{"深度学习", "卷积神经网络", "强化学习", "图神经网络", "有限元分析", "多目标优化", "模型预测控制", "迁移学习",
			"联邦学习", "注意力机制", "数字孪生", "改进遗传算法", "粒子群优化", "贝叶斯网络", "小波变换", "自适应滑模控制"},
		o: []string{"遥感图像", "电力系统", "无人机集群", "锂离子电池", "复合材料层合板", "斜拉桥", "城市交通流", "工业机器人",
			"5G通信网络", "边缘计算系统", "钢筋混凝土框架结构", "微电网", "车联网", "光纤传感器", "污水处理系统", "高速列车",
			"风力发电机组", "隧道围岩"},
		t: []string{"故障诊断", "目标检测", "性能优化", "状态估计", "路径规划", "负荷预测", "损伤识别", "可靠性分析",
			"图像分割", "资源调度", "疲劳寿命预测", "振动抑制"},
		templates: []string{"基于M的OT研究", "OT方法研究", "面向O的MT方法", "M在OT中的应用研究"},
	},
	groupScience: {
		m: []string{"第一性原理计算", "分子动力学模拟", "密度泛函理论", "同步辐射表征", "数值模拟", "变分方法", "稳定同位素示踪"},
		o: []string{"二维过渡金属硫化物", "钙钛矿太阳能电池", "拓扑绝缘体", "金属有机框架材料", "碳量子点", "非线性薛定谔方程",
			"随机微分方程", "青藏高原冻土", "长江中下游降水", "南海北部陆坡", "拟南芥", "斑马鱼"},
		t:         []string{"电子结构", "催化性能", "稳定性", "解的存在性", "时空演变特征", "调控机制", "相变行为", "光学性质"},
		templates: []string{"基于M的OT研究", "OT的M研究", "OT研究"},
	},
	groupMedicine: {
		m: []string{"单细胞测序", "多组学分析", "影像组学", "前瞻性队列", "随机对照试验", "网络药理学", "回顾性分析", "孟德尔随机化"},
		o: []string{"非小细胞肺癌", "2型糖尿病", "急性心肌梗死", "类风湿关节炎", "肝细胞癌", "阿尔茨海默病", "脓毒症",
			"慢性肾脏病", "结直肠癌", "缺血性脑卒中", "儿童哮喘", "乳腺癌"},
		t:         []string{"预后评估", "发病机制", "早期诊断", "危险因素", "临床疗效", "耐药机制", "生物标志物筛选", "免疫微环境"},
		templates: []string{"基于M的OT研究", "OT的M研究", "O患者T的临床研究"},
	},
	groupAgriculture: {
		m:         []string{"转录组分析", "全基因组关联分析", "分子标记辅助选择", "基因编辑", "代谢组学", "田间试验"},
		o:         []string{"水稻", "小麦", "玉米", "大豆", "茶树", "苹果", "番茄", "奶牛", "生猪", "杨树", "南美白对虾", "油菜"},
		t:         []string{"抗逆机制", "品质形成", "产量性状", "病害防控", "基因功能鉴定", "养分高效利用"},
		templates: []string{"基于M的OT研究", "OT的M研究", "OT研究"},
	},
	groupEconomics: {
		m: []string{"面板数据", "双重差分", "结构方程模型", "演化博弈", "实证分析", "案例分析", "熵权法", "空间计量"},
		o: []string{"绿色金融", "上市公司", "中小企业融资", "跨境电商", "房地产市场", "碳排放权交易", "数字普惠金融", "供应链",
			"商业银行", "地方政府债务", "人力资本", "农村电商"},
		t:         []string{"效率评价", "风险管理", "影响因素", "绩效评价", "溢出效应", "定价", "作用机制"},
		templates: []string{"基于M的OT研究", "OT研究", "OT：基于M的分析"},
	},
	groupLaw: {
		m: []string{"比较法", "法教义学", "国家治理", "总体国家安全观", "社会治理", "法经济学", "法律人类学"},
		o: []string{"个人信息保护", "农村土地承包经营权", "网络平台责任", "环境公益诉讼", "刑事合规", "基层社会治理", "行政协议",
			"跨境数据流动", "民族地区社会治理", "国际投资仲裁"},
		t:         []string{"法律规制", "制度构建", "困境与对策", "实现路径", "司法适用", "制度完善"},
		templates: []string{"M视角下的OT研究", "OT研究", "论O的T"},
	},
	groupEducation: {
		m: []string{"扎根理论", "问卷调查", "课堂观察", "准实验", "混合研究", "叙事探究"},
		o: []string{"农村留守儿童", "中小学教师", "高校思想政治教育", "大学生学习投入", "学前儿童社会性发展", "职业院校双师型教师",
			"混合式教学", "青少年体育锻炼", "运动员竞技表现"},
		t:         []string{"影响因素", "现状调查", "提升策略", "作用机制", "干预效果"},
		templates: []string{"基于M的OT研究", "OT研究", "OT的M研究"},
	},
	groupHumanities: {
		m: []string{"新时代", "比较文学", "叙事学", "历史语境", "文化记忆", "认知语言学", "跨文化", "生态批评"},
		o: []string{"宋代文人", "明清小说", "近代上海报刊", "《红楼梦》", "唐代边塞诗", "敦煌文献", "民国教育期刊",
			"少数民族史诗", "汉语方言", "英语学术语篇", "中国古代伦理思想"},
		t:         []string{"书写", "接受与传播", "演变", "语言特征", "文本考释", "思想意蕴", "叙事策略"},
		templates: []string{"M视角下的OT研究", "OT研究", "OT考论"},
	},
	groupArts: {
		m: []string{"当代", "跨媒介", "非遗保护", "数字媒体", "地域文化"},
		o: []string{"中国传统山水画", "民族民间舞蹈", "京剧表演艺术", "当代公共艺术", "视觉传达设计", "纪录片", "民族器乐",
			"传统纹样", "城市滨水景观"},
		t:         []string{"审美特征", "创作实践", "传承与创新", "视觉语言", "设计策略"},
		templates: []string{"M视角下的OT研究", "OT研究", "O中的T探析"},
	},
}

// Sources of thesis topics (论文选题来源) as the national forms list
// them, weighted; the humanities and social sciences draw from the social
// science funds, the rest from the natural science ones.
var (
	topicSourcesScience = []string{"国家自然科学基金", "国家重点研发计划", "省（自治区、直辖市）项目", "企、事业单位委托项目",
		"国际合作研究项目", "自选项目", "其他"}
	topicWeightsScience = []uint32{25, 10, 18, 14, 2, 25, 6}
	topicSourcesSocial  = []string{"国家社会科学基金", "教育部人文社会科学研究项目", "省（自治区、直辖市）项目",
		"企、事业单位委托项目", "国际合作研究项目", "自选项目", "其他"}
	topicWeightsSocial = []uint32{12, 8, 15, 8, 2, 48, 7}
)

// appendThesis appends a title to b and returns it with the keywords.
func appendThesis(b []byte, s *stream, group int, disciplineName string) ([]byte, []string) {
	g := &thesisGroups[group]
	m, o, t := pick(s, g.m), pick(s, g.o), pick(s, g.t)
	tpl := pick(s, g.templates)
	for i := 0; i < len(tpl); i++ {
		switch tpl[i] {
		case 'M':
			b = append(b, m...)
		case 'O':
			b = append(b, o...)
		case 'T':
			b = append(b, t...)
		default:
			b = append(b, tpl[i])
		}
	}
	kw := make([]string, 0, 4)
	kw = append(kw, o, t)
	if containsByte(tpl, 'M') {
		kw = append(kw, m)
	}
	return b, append(kw, disciplineName)
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
