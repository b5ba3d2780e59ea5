"""Reference data for the sandbox provider: names, places, roles, companies.

Phone numbers use ranges reserved for fiction where a country has one (US 555-01xx,
UK 07700 900xxx); domains are invented. Chinese names carry pinyin and characters.
"""


def _words(text: str) -> list[str]:
    return text.split()


# locale -> (first names, last names). Chinese and Japanese entries are (romanised, native).
NAMES = {
    "en": (
        _words(
            "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
            "Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Steven "
            "Ashley Andrew Emily Joshua Michelle Kevin Amanda Brian Melissa George Rebecca Timothy Laura Ryan Rachel "
            "Jacob Hannah Nathan Olivia Ethan Chloe Oliver Grace Henry Lucy Samuel Zoe"
        ),
        _words(
            "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson "
            "Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker "
            "Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris "
            "Murphy Cook Rogers Morgan Cooper Peterson Bailey Reed Kelly Howard Ward Cox Bennett Hughes"
        ),
    ),
    "de": (
        _words(
            "Lukas Anna Leon Lea Felix Hannah Jonas Lena Maximilian Laura Paul Sophie Tobias Julia Finn Katharina "
            "Jan Marie Niklas Johanna Moritz Clara Sebastian Frieda Florian Greta"
        ),
        _words(
            "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter "
            "Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange"
        ),
    ),
    "fr": (
        _words(
            "Louis Emma Gabriel Jade Arthur Louise Raphaël Alice Jules Chloé Hugo Léa Lucas Manon Adam Camille "
            "Nathan Inès Théo Juliette Antoine Margaux Mathieu Élodie"
        ),
        _words(
            "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre Michel "
            "Garcia David Bertrand Roux Vincent Fournier Morel Girard Bonnet Dupont"
        ),
    ),
    "es": (
        _words(
            "Hugo Lucía Martín Sofía Pablo Martina Daniel María Alejandro Julia Diego Paula Javier Carmen Sergio "
            "Elena Álvaro Laura Carlos Ana Mateo Valentina"
        ),
        _words(
            "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández "
            "Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres"
        ),
    ),
    "pt": (
        _words(
            "João Maria Pedro Ana Lucas Beatriz Gabriel Mariana Rafael Júlia Miguel Larissa Thiago Camila Bruno "
            "Fernanda"
        ),
        _words(
            "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro Martins Carvalho "
            "Almeida Araújo"
        ),
    ),
    "in": (
        _words(
            "Aarav Priya Vivaan Ananya Aditya Diya Arjun Isha Rohan Kavya Rahul Neha Vikram Pooja Sanjay Meera "
            "Karthik Divya Amit Sneha"
        ),
        _words(
            "Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Mehta Shah Rao Joshi Desai Menon Bose Chatterjee Verma "
            "Kapoor Malhotra Pillai"
        ),
    ),
    "zh": (
        [
            ("Wei", "伟"),
            ("Fang", "芳"),
            ("Na", "娜"),
            ("Min", "敏"),
            ("Jing", "静"),
            ("Li", "丽"),
            ("Qiang", "强"),
            ("Lei", "磊"),
            ("Jun", "军"),
            ("Yang", "洋"),
            ("Yong", "勇"),
            ("Yan", "艳"),
            ("Jie", "杰"),
            ("Tao", "涛"),
            ("Ming", "明"),
            ("Chao", "超"),
            ("Xiuying", "秀英"),
            ("Hui", "慧"),
            ("Haoran", "浩然"),
            ("Zihan", "子涵"),
            ("Yuxuan", "宇轩"),
            ("Xinyi", "欣怡"),
            ("Jianguo", "建国"),
            ("Lina", "丽娜"),
            ("Xiaoming", "晓明"),
            ("Yifan", "一帆"),
            ("Siyu", "思雨"),
            ("Zhiqiang", "志强"),
        ],
        [
            ("Wang", "王"),
            ("Li", "李"),
            ("Zhang", "张"),
            ("Liu", "刘"),
            ("Chen", "陈"),
            ("Yang", "杨"),
            ("Huang", "黄"),
            ("Zhao", "赵"),
            ("Wu", "吴"),
            ("Zhou", "周"),
            ("Xu", "徐"),
            ("Sun", "孙"),
            ("Ma", "马"),
            ("Zhu", "朱"),
            ("Hu", "胡"),
            ("Guo", "郭"),
            ("He", "何"),
            ("Lin", "林"),
            ("Gao", "高"),
            ("Luo", "罗"),
            ("Zheng", "郑"),
            ("Liang", "梁"),
            ("Xie", "谢"),
            ("Song", "宋"),
            ("Tang", "唐"),
            ("Han", "韩"),
            ("Feng", "冯"),
            ("Deng", "邓"),
        ],
    ),
    "ja": (
        [
            ("Haruto", "陽翔"),
            ("Yui", "結衣"),
            ("Sota", "蒼太"),
            ("Aoi", "葵"),
            ("Ren", "蓮"),
            ("Hina", "陽菜"),
            ("Takumi", "拓海"),
            ("Sakura", "さくら"),
            ("Kenji", "健二"),
            ("Yuki", "由紀"),
            ("Daiki", "大輝"),
            ("Misaki", "美咲"),
        ],
        [
            ("Sato", "佐藤"),
            ("Suzuki", "鈴木"),
            ("Takahashi", "高橋"),
            ("Tanaka", "田中"),
            ("Watanabe", "渡辺"),
            ("Ito", "伊藤"),
            ("Yamamoto", "山本"),
            ("Nakamura", "中村"),
            ("Kobayashi", "小林"),
            ("Kato", "加藤"),
            ("Yoshida", "吉田"),
            ("Yamada", "山田"),
        ],
    ),
}

# ISO-2 -> (locale, calling code, company TLD, {region: [cities]})
WORLD = {
    "US": (
        "en",
        "+1",
        "com",
        {
            "California": ["San Francisco", "Los Angeles", "San Diego", "San Jose"],
            "New York": ["New York", "Brooklyn", "Buffalo"],
            "Texas": ["Austin", "Dallas", "Houston"],
            "Washington": ["Seattle", "Bellevue"],
            "Massachusetts": ["Boston", "Cambridge"],
            "Illinois": ["Chicago"],
            "Colorado": ["Denver", "Boulder"],
            "Georgia": ["Atlanta"],
        },
    ),
    "GB": (
        "en",
        "+44",
        "co.uk",
        {
            "England": ["London", "Manchester", "Bristol", "Leeds", "Cambridge"],
            "Scotland": ["Edinburgh", "Glasgow"],
            "Wales": ["Cardiff"],
        },
    ),
    "CA": (
        "en",
        "+1",
        "ca",
        {
            "Ontario": ["Toronto", "Ottawa", "Waterloo"],
            "British Columbia": ["Vancouver", "Victoria"],
            "Quebec": ["Montreal", "Quebec City"],
        },
    ),
    "AU": (
        "en",
        "+61",
        "com.au",
        {
            "New South Wales": ["Sydney", "Newcastle"],
            "Victoria": ["Melbourne"],
            "Queensland": ["Brisbane"],
        },
    ),
    "IE": ("en", "+353", "ie", {"Leinster": ["Dublin"], "Munster": ["Cork", "Limerick"]}),
    "SG": ("en", "+65", "com.sg", {"Singapore": ["Singapore"]}),
    "DE": (
        "de",
        "+49",
        "de",
        {
            "Bavaria": ["Munich", "Nuremberg"],
            "Berlin": ["Berlin"],
            "Hamburg": ["Hamburg"],
            "Hesse": ["Frankfurt"],
            "North Rhine-Westphalia": ["Cologne", "Düsseldorf"],
        },
    ),
    "AT": ("de", "+43", "at", {"Vienna": ["Vienna"], "Styria": ["Graz"]}),
    "CH": ("de", "+41", "ch", {"Zurich": ["Zurich"], "Geneva": ["Geneva"], "Basel-Stadt": ["Basel"]}),
    "FR": (
        "fr",
        "+33",
        "fr",
        {
            "Île-de-France": ["Paris", "Boulogne-Billancourt"],
            "Auvergne-Rhône-Alpes": ["Lyon", "Grenoble"],
            "Occitanie": ["Toulouse", "Montpellier"],
        },
    ),
    "ES": ("es", "+34", "es", {"Madrid": ["Madrid"], "Catalonia": ["Barcelona"], "Valencia": ["Valencia"]}),
    "MX": ("es", "+52", "com.mx", {"Mexico City": ["Mexico City"], "Jalisco": ["Guadalajara"]}),
    "BR": ("pt", "+55", "com.br", {"São Paulo": ["São Paulo", "Campinas"], "Rio de Janeiro": ["Rio de Janeiro"]}),
    "IN": (
        "in",
        "+91",
        "in",
        {
            "Karnataka": ["Bengaluru", "Mysuru"],
            "Maharashtra": ["Mumbai", "Pune"],
            "Telangana": ["Hyderabad"],
            "Delhi": ["New Delhi"],
        },
    ),
    "CN": (
        "zh",
        "+86",
        "cn",
        {
            "Beijing": ["Beijing"],
            "Shanghai": ["Shanghai"],
            "Guangdong": ["Shenzhen", "Guangzhou"],
            "Zhejiang": ["Hangzhou", "Ningbo"],
            "Jiangsu": ["Nanjing", "Suzhou"],
            "Sichuan": ["Chengdu"],
        },
    ),
    "JP": ("ja", "+81", "co.jp", {"Tokyo": ["Tokyo"], "Osaka": ["Osaka"], "Kanagawa": ["Yokohama"]}),
}
# Unlisted countries asked for explicitly get English-style names and no region data.
DEFAULT_COUNTRY_WEIGHTS = {
    "US": 30,
    "GB": 10,
    "DE": 8,
    "FR": 6,
    "CA": 5,
    "AU": 4,
    "CN": 10,
    "IN": 7,
    "JP": 4,
    "ES": 3,
    "BR": 3,
    "SG": 2,
    "IE": 2,
    "CH": 2,
    "AT": 1,
    "MX": 2,
}

SENIORITIES = ["Founder/Owner", "C-Level", "VP", "Director", "Manager", "Senior", "Entry"]
SENIORITY_WEIGHTS = [3, 6, 10, 18, 28, 20, 15]
SENIORITY_SYNONYMS = {
    "founder": "Founder/Owner",
    "owner": "Founder/Owner",
    "founder/owner": "Founder/Owner",
    "c-level": "C-Level",
    "c level": "C-Level",
    "c-suite": "C-Level",
    "c_suite": "C-Level",
    "executive": "C-Level",
    "cxo": "C-Level",
    "vp": "VP",
    "vice president": "VP",
    "svp": "VP",
    "evp": "VP",
    "director": "Director",
    "head": "Director",
    "manager": "Manager",
    "lead": "Manager",
    "senior": "Senior",
    "principal": "Senior",
    "entry": "Entry",
    "junior": "Entry",
    "associate": "Entry",
    "individual contributor": "Entry",
}

DEPARTMENTS = [
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Human Resources",
    "Operations",
    "Information Technology",
    "Legal",
    "Product",
    "Customer Success",
]
DEPARTMENT_SYNONYMS = {
    "customer_success": "Customer Success",
    "sales": "Sales",
    "business development": "Sales",
    "revenue": "Sales",
    "account": "Sales",
    "marketing": "Marketing",
    "growth": "Marketing",
    "brand": "Marketing",
    "demand": "Marketing",
    "engineering": "Engineering",
    "software": "Engineering",
    "developer": "Engineering",
    "technology": "Engineering",
    "finance": "Finance",
    "financial": "Finance",
    "accounting": "Finance",
    "controller": "Finance",
    "hr": "Human Resources",
    "human resources": "Human Resources",
    "people": "Human Resources",
    "talent": "Human Resources",
    "recruit": "Human Resources",
    "operations": "Operations",
    "supply chain": "Operations",
    "logistics": "Operations",
    "it": "Information Technology",
    "information technology": "Information Technology",
    "security": "Information Technology",
    "infrastructure": "Information Technology",
    "legal": "Legal",
    "counsel": "Legal",
    "compliance": "Legal",
    "product": "Product",
    "customer success": "Customer Success",
    "support": "Customer Success",
    "cto": "Engineering",
    "cfo": "Finance",
    "cmo": "Marketing",
    "cio": "Information Technology",
    "coo": "Operations",
    "cro": "Sales",
    "cpo": "Product",
}
# department -> seniority -> title
TITLES = {
    "Sales": [
        "Founder & CEO",
        "Chief Revenue Officer",
        "VP of Sales",
        "Director of Sales",
        "Sales Manager",
        "Senior Account Executive",
        "Sales Development Representative",
    ],
    "Marketing": [
        "Founder",
        "Chief Marketing Officer",
        "VP of Marketing",
        "Director of Marketing",
        "Marketing Manager",
        "Senior Marketing Specialist",
        "Marketing Coordinator",
    ],
    "Engineering": [
        "Co-Founder & CTO",
        "Chief Technology Officer",
        "VP of Engineering",
        "Director of Engineering",
        "Engineering Manager",
        "Senior Software Engineer",
        "Software Engineer",
    ],
    "Finance": [
        "Founder",
        "Chief Financial Officer",
        "VP of Finance",
        "Finance Director",
        "Finance Manager",
        "Senior Financial Analyst",
        "Financial Analyst",
    ],
    "Human Resources": [
        "Founder",
        "Chief People Officer",
        "VP of People",
        "HR Director",
        "HR Manager",
        "Senior HR Business Partner",
        "HR Coordinator",
    ],
    "Operations": [
        "Founder & CEO",
        "Chief Operating Officer",
        "VP of Operations",
        "Director of Operations",
        "Operations Manager",
        "Senior Operations Analyst",
        "Operations Associate",
    ],
    "Information Technology": [
        "Founder",
        "Chief Information Officer",
        "VP of IT",
        "IT Director",
        "IT Manager",
        "Senior Systems Administrator",
        "IT Support Specialist",
    ],
    "Legal": [
        "Founding Partner",
        "General Counsel",
        "VP of Legal",
        "Director of Legal Affairs",
        "Legal Manager",
        "Senior Counsel",
        "Paralegal",
    ],
    "Product": [
        "Founder & CEO",
        "Chief Product Officer",
        "VP of Product",
        "Director of Product",
        "Product Manager",
        "Senior Product Manager",
        "Associate Product Manager",
    ],
    "Customer Success": [
        "Founder",
        "Chief Customer Officer",
        "VP of Customer Success",
        "Director of Customer Success",
        "Customer Success Manager",
        "Senior Customer Success Manager",
        "Customer Success Associate",
    ],
}

INDUSTRIES = {
    "Computer Software": ["Software", "Labs", "Systems", "Cloud", "Apps", "Code"],
    "Information Technology and Services": ["Technologies", "IT Services", "Digital", "Networks", "Solutions"],
    "Internet": ["Online", "Web", "Interactive", "Media", "Platforms"],
    "Financial Services": ["Capital", "Financial", "Partners", "Payments", "Advisors", "Wealth"],
    "Marketing and Advertising": ["Marketing", "Media", "Creative", "Agency", "Brands"],
    "Hospital & Health Care": ["Health", "Medical", "Care", "Clinics", "Healthcare"],
    "Biotechnology": ["Bio", "Therapeutics", "Biosciences", "Genomics"],
    "Manufacturing": ["Industries", "Manufacturing", "Works", "Components", "Precision"],
    "Retail": ["Retail", "Stores", "Goods", "Market", "Outfitters"],
    "Logistics and Supply Chain": ["Logistics", "Freight", "Shipping", "Supply"],
    "Real Estate": ["Properties", "Realty", "Estates", "Homes"],
    "Telecommunications": ["Telecom", "Communications", "Wireless", "Connect"],
    "Education": ["Learning", "Academy", "Education", "Tutors"],
    "Management Consulting": ["Consulting", "Advisory", "Strategy", "Group"],
    "E-Learning": ["Learn", "Courses", "EdTech"],
}
INDUSTRY_NOUNS_DEFAULT = ["Group", "Company", "Solutions", "Partners", "Holdings"]

COMPANY_PREFIXES = _words(
    "Acme Northwind Bluepeak Brightline Cobalt Crescent Evergreen Falcon Granite Harbor Ironwood Juniper "
    "Keystone Lighthouse Meridian Nimbus Oakridge Pioneer Quantum Redwood Silverline Summit Tidewater "
    "Vantage Westbrook Zenith Aurora Beacon Cascade Driftwood Emberly Foxglove Goldengate Helix Indigo "
    "Kestrel Lumen Maple Northstar Orbit Pinnacle Quarry Riverton Sagebrush Trident Upland Vertex Willow "
    "Yellowstone Alder Birchwood Cedar Delta Elm Fjord Glacier Hawthorn Ivory Jasper Kite Lark Mosaic "
    "Nova Onyx Prism Quill Ridge Sparrow Talon Umbra Vela Wren Apex Bolt Clover Dune Echo Flint Grove"
)
COMPANY_PREFIXES_ZH = _words(
    "Huaxin Zhongke Tianyu Jinghua Haitian Xinghe Boyuan Dingsheng Ruitai Yunfan Longxin Kaiyuan Hengtong "
    "Shengda Minghui Zhiyuan Anxin Hongtu Jiayu Weilai Qianhai Baixin Dongfang Huarui"
)
COMPANY_PREFIXES_JA = _words("Sakura Fuji Kaze Hikari Mirai Nami Sora Tsubasa Yamato Asahi Midori Kumo")

COMPANY_SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"]
COMPANY_SIZE_WEIGHTS = [8, 22, 26, 16, 10, 10, 4, 4]
