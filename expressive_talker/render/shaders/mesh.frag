#version 330 core
// The face shader's pixel stage (see mesh.vert): the lit colour times the skin texture (uploaded in
// linear light), plus the highlight, then gamma 2.2.

in vec4 linear_color;
in vec3 linear_specular;
#ifdef HAS_BASE_COLOR_TEX
in vec2 uv_0;
struct Material {
    vec4 base_color_factor;
    float roughness_factor;
    sampler2D base_color_texture;
};
uniform Material material;
#endif
out vec4 frag_color;

void main()
{
    vec3 color = linear_color.rgb;
#ifdef HAS_BASE_COLOR_TEX
    color *= texture(material.base_color_texture, uv_0).rgb;  // stored in linear light (renderer.py)
#endif
    frag_color = clamp(vec4(pow(color + linear_specular, vec3(1.0 / 2.2)), linear_color.a), 0.0, 1.0);
}
